#pragma once
// smpp-mcsim's command-line configuration, shared by every part of the simulator.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tools/common/random.h"

namespace smppgw::mcsim {

enum class IdFormat : uint8_t { Decimal, Hex };

// A TLV added to what mcsim sends (--mo-tlv, --response-tlv), for v3.4+ peers only.
struct ExtraTlv {
  uint16_t tag = 0;
  std::vector<uint8_t> value;
};

struct Config {
  std::string listen = "127.0.0.1:2775";
  std::string port_file;
  // TLS listener (--tls-cert/--tls-key); --tls-ca verifies client certificates.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool tls_require_client_cert = false;
  bool quiet = false;
  uint64_t duration_ms = 0;            // 0: until SIGINT/SIGTERM
  std::string mc_system_id = "mcsim";  // the MC's own system_id in bind_resp
  // system_id -> password; empty: any credentials are accepted.
  std::vector<std::pair<std::string, std::string>> accounts;
  // --system-id / --password: required credentials (each checked only when set).
  std::string required_system_id;
  std::string required_password;
  bool password_set = false;

  IdFormat id_format = IdFormat::Decimal;
  uint32_t id_length = 0;  // zero-padded width, 0: natural
  IdFormat receipt_id_format = IdFormat::Decimal;
  uint32_t receipt_id_length = 0;
  bool receipt_id_format_set = false;  // false: receipts use the response's format
  bool receipt_id_length_set = false;  // false: receipts use the response's length
  uint64_t id_start = 1;

  tools::DelaySpec latency;
  double error_rate = 0;
  uint32_t error_status = 0x08;  // ESME_RSYSERR
  double throttle_rate = 0;
  uint32_t throttle_status = 0x58;  // ESME_RTHROTTLED
  // A carrier's own limits: per bind (session), messages a second beyond which it answers
  // throttle_status (0: none); and a throttling spell: once throttle_after messages were
  // accepted, every message is answered throttle_status for throttle_for_ms.
  uint32_t tps_per_bind = 0;
  uint64_t throttle_after = 0;
  uint64_t throttle_for_ms = 0;
  // A carrier that stops answering for a while: once stall_after messages were accepted, the
  // responses of what arrives in the next stall_for_ms are held until that time is over.
  uint64_t stall_after = 0;
  uint64_t stall_for_ms = 0;
  // One line per submit on stderr (destination, concatenation part, status): tests read the
  // order in which the carrier saw parts.
  bool trace_submits = false;

  tools::DelaySpec receipt_delay;
  // Weights of the final states (index = message_state value).
  std::array<double, 10> state_weights{0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  bool receipt_first = false;

  double mo_rate = 0;     // MO messages per second, over all receiving sessions
  uint64_t mo_count = 0;  // 0: unlimited
  std::string mo_from = "447700900000-447700900999";
  std::string mo_to = "12345";
  std::string mo_text = "Hello from smpp-mcsim";
  std::vector<ExtraTlv> mo_tlvs;        // added to every MO deliver_sm
  std::vector<ExtraTlv> response_tlvs;  // added to every successful message response

  uint32_t window = 64;                 // outstanding deliver_sm per session
  uint64_t deliver_timeout_ms = 30000;  // unanswered deliver_sm: counted failed, retried
  // A deliver_sm answered ESME_RX_T_APPN (temporary) is sent again this much later, as MCs do;
  // 0: never (counted failed, dropped).
  uint64_t retry_temporary_ms = 1000;
  uint32_t max_attempts = 10;         // sends of one deliver_sm, first included
  uint64_t max_queued = 1000000;      // deliveries waiting for a window or a receiver
  uint64_t remember = 1u << 18;       // message ids kept for query/cancel/replace
  uint64_t unbind_timeout_ms = 1000;  // at shutdown, wait this long for unbind_resp
  uint64_t seed = 1;
};

}  // namespace smppgw::mcsim
