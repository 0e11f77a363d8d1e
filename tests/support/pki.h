#pragma once
// A throwaway PKI generated at run time with the OpenSSL API (EC P-256) into a temporary
// directory, removed when the process exits: two CAs, a server certificate for localhost /
// 127.0.0.1, a client certificate, an expired server certificate and a server certificate issued
// by the other CA.

#include <string>

namespace smppgw::nettest {

struct Pki {
  std::string dir;
  std::string ca;                         // CA certificate (PEM)
  std::string other_ca;                   // a CA nobody trusts
  std::string server_cert, server_key;    // CN=localhost, SAN DNS:localhost, IP:127.0.0.1
  std::string client_cert, client_key;    // CN=customer-1, SAN DNS + email
  std::string expired_cert, expired_key;  // like server_cert, expired yesterday
  std::string foreign_cert, foreign_key;  // like server_cert, issued by other_ca
  std::string error;                      // empty when everything was written
};

// Generated once per process.
const Pki& pki();

}  // namespace smppgw::nettest
