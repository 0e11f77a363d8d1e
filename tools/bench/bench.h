#pragma once
// smpp-bench: an ESME load generator (in the spirit of h2load) on one libuv loop.
//
// Sessions bind (transceiver, or transmitter + receiver), then either keep `window` submits
// outstanding each (closed loop: every response refills, and all refills of one loop iteration
// leave in one write) or follow a Poisson schedule at a target rate (open loop: latency is
// measured from the scheduled send time, so a slow peer cannot hide its delay - no coordinated
// omission). Receipts are matched to submits by message id. Nothing per PDU allocates: templates
// are pre-encoded, in-flight requests live in a ring, ids in a flat map, latencies in a
// log-linear histogram.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codec/decode.h"
#include "codec/pdu.h"
#include "codec/receipt.h"
#include "net/connection.h"
#include "net/loop.h"
#include "tools/bench/messages.h"
#include "tools/common/histogram.h"
#include "tools/common/id_map.h"
#include "tools/common/inflight.h"
#include "tools/common/precise_timer.h"
#include "tools/common/random.h"

namespace smppgw::bench {

struct Config {
  std::string connect;  // HOST:PORT
  // TLS under every session: the handshake (bounded by bind_timeout_ms) comes before the bind.
  bool tls = false;
  std::string tls_ca;           // PEM CA bundle verifying the server (empty: system default)
  std::string tls_server_name;  // name or IP the certificate must match (empty: --connect's host)
  std::string tls_cert;         // client certificate (PEM), with tls_key
  std::string tls_key;
  uint32_t sessions = 1;
  bool transmitter = false;  // bind_transmitter (+ a bind_receiver per session for receipts)
  std::string system_id = "bench";
  std::string password = "secret";
  std::string system_type;
  uint8_t interface_version = 0x34;
  uint32_t window = 10;
  double rate = 0;  // total submit_sm/s; 0: closed loop
  uint64_t count = 0;
  uint64_t duration_ms = 0;
  Mix mix = Mix::Minimal;
  bool receipts = false;
  uint64_t receipt_timeout_ms = 10000;
  uint64_t response_timeout_ms = 10000;
  uint64_t bind_timeout_ms = 5000;
  uint64_t enquire_link_ms = 30000;
  bool one_pdu_per_write = false;
  std::string source = "447700900000-447700999999";
  std::string dest = "447800000000-447899999999";
  codec::IdFormat response_id_format = codec::IdFormat::Auto;
  codec::IdFormat receipt_id_format = codec::IdFormat::Auto;
  bool json = false;
  bool quiet = false;
  bool progress = true;
  uint64_t seed = 1;
};

class Bench;

class BenchSession : public net::ConnectionHandler {
 public:
  enum class Role : uint8_t { Transceiver, Transmitter, Receiver };
  enum class State : uint8_t { Connecting, Handshaking, Binding, Bound, Unbinding, Closed };
  struct Req {
    enum class Kind : uint8_t { Bind, Submit, Enquire, Unbind };
    Kind kind = Kind::Submit;
    bool wants_receipt = false;
    uint64_t sched_ns = 0;  // latency is measured from here
  };

  BenchSession(Bench& bench, uint32_t index, Role role, size_t ring);
  void onPdu(net::Connection& c, codec::Bytes pdu) override;
  void onFramingError(net::Connection& c, const codec::DecodeError& e) override;
  void onConnected(net::Connection& c, int status) override;
  void onSecured(net::Connection& c) override;
  void onClosed(net::Connection& c, int status) override;

  bool canSubmit() const { return state == State::Bound && role != Role::Receiver; }

  Bench& bench;
  uint32_t index;
  Role role;
  State state = State::Connecting;
  net::Connection::Ptr conn;
  tools::InflightRing<Req> inflight;
  uint32_t submits_outstanding = 0;
  uint64_t last_enquire_ns = 0;
  uint64_t connect_ns = 0;
  // The rest of a long message still to send on this session (same reference, same schedule).
  const MessageShape* parts_shape = nullptr;
  size_t parts_next = 0;
  uint64_t parts_sched_ns = 0;
  uint64_t parts_src = 0;
  uint64_t parts_dst = 0;
  uint16_t parts_ref = 0;
};

class Bench {
 public:
  Bench(net::Loop& loop, Config config);
  ~Bench();
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  bool start(std::string& error);
  // SIGINT/SIGTERM: first stop sending and drain, second finish at once.
  void interrupt();
  // Process exit code: 0 all answered (and receipts received), 3 a TLS handshake failed, 1
  // otherwise.
  int exitCode() const;
  std::string reportJson() const;
  std::string reportText() const;

  // Called by sessions.
  void handlePdu(BenchSession& s, codec::Bytes pdu);
  void handleFramingError(BenchSession& s, const codec::DecodeError& e);
  void handleConnected(BenchSession& s, int status);
  void handleSecured(BenchSession& s);
  void handleClosed(BenchSession& s, int status);

 private:
  struct PendingReceipt {
    uint64_t sched_ns = 0;
  };
  struct StatusCount {
    uint32_t status = 0;
    uint64_t count = 0;
  };

  void handleResponse(BenchSession& s, const codec::Header& h, codec::Bytes pdu, uint64_t now);
  void handleRequest(BenchSession& s, const codec::Header& h, codec::Bytes pdu, uint64_t now);
  void handleReceipt(std::string_view id, uint64_t now);
  void sendBind(BenchSession& s);
  void sendUnbind(BenchSession& s);
  void sendEnquireLink(BenchSession& s, uint64_t now);
  void writeOut(BenchSession& s);
  // Sends one submit_sm PDU (the next part of a long message, or a new message's first part).
  // new_sched: scheduled time of a new message. Returns true if a new message was started.
  bool sendOne(BenchSession& s, uint64_t new_sched, uint64_t now);
  void pumpClosed(BenchSession& s, uint64_t now);
  void pumpOpen(uint64_t now);
  void pumpParts(BenchSession& s, uint64_t now);
  void pump(BenchSession& s, uint64_t now);
  bool budgetLeft() const { return sending_ && (cfg_.count == 0 || submitted_ < cfg_.count); }
  size_t budgetParts() const;
  void stopSending(const char* why);
  void checkDone(uint64_t now);
  void finish();
  void closeSession(BenchSession& s);
  void onTick();
  void onProgress();
  void countStatus(uint32_t st);
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));
  bool normalize(std::string_view id, codec::IdFormat fmt, codec::MessageIdKey& key) const;
  bool anySessionAlive() const;

  net::Loop& loop_;
  Config cfg_;
  tools::Rng rng_;
  MessageFactory factory_;
  std::vector<std::unique_ptr<BenchSession>> sessions_;
  sockaddr_storage addr_{};
  std::shared_ptr<net::TlsContext> tls_ctx_;
  std::string tls_server_name_;
  uint8_t rd_ = 0;

  tools::PreciseTimer pacer_;
  uint64_t next_due_ns_ = 0;
  double mean_gap_ns_ = 0;
  size_t rr_ = 0;

  std::unique_ptr<net::Timer> tick_;
  std::unique_ptr<net::Timer> progress_;
  std::unique_ptr<net::Timer> duration_timer_;
  std::unique_ptr<net::Timer> finish_timer_;

  bool sending_ = false;
  bool started_sending_ = false;
  bool draining_receipts_ = false;
  bool finishing_ = false;
  bool done_ = false;
  std::string stop_reason_;
  uint64_t start_ns_ = 0;  // process start of the run
  uint64_t first_send_ns_ = 0;
  uint64_t last_response_ns_ = 0;
  uint64_t stop_sending_ns_ = 0;
  uint64_t receipts_deadline_ns_ = 0;
  uint64_t end_ns_ = 0;

  // Counters.
  uint64_t submitted_ = 0;  // submit_sm PDUs sent
  uint64_t messages_ = 0;   // messages (a long one is several PDUs)
  uint64_t responses_ = 0;
  uint64_t responses_ok_ = 0;
  uint64_t timeouts_ = 0;
  uint64_t generic_nacks_ = 0;
  uint64_t unexpected_ = 0;
  uint64_t binds_ok_ = 0;
  uint64_t binds_failed_ = 0;
  uint64_t connect_failed_ = 0;
  uint64_t sessions_lost_ = 0;
  uint64_t tls_handshakes_ = 0;
  uint64_t tls_resumed_ = 0;
  uint64_t tls_failed_ = 0;
  std::string tls_version_;  // of the first session secured
  std::string tls_cipher_;
  std::string tls_failure_;  // reason of the first failure ("unknown_ca", ...)
  uint64_t receipts_expected_ = 0;
  uint64_t receipts_matched_ = 0;
  uint64_t receipts_unknown_ = 0;  // receipts for no submit of ours (counted at the end)
  uint64_t receipts_intermediate_ = 0;
  uint64_t receipts_missing_ = 0;
  uint64_t mo_received_ = 0;
  uint64_t deliver_sm_received_ = 0;
  uint64_t enquire_links_ = 0;
  uint64_t last_progress_responses_ = 0;
  uint64_t last_progress_ns_ = 0;
  std::vector<StatusCount> statuses_;

  tools::LatencyHistogram submit_hist_;
  tools::LatencyHistogram interval_hist_;
  tools::LatencyHistogram receipt_hist_;
  tools::LatencyHistogram send_lag_hist_;
  tools::LatencyHistogram handshake_hist_;  // TCP connect started -> TLS secured  // open loop:
                                            // actual send - scheduled send
  tools::FlatIdMap<PendingReceipt> pending_receipts_;
  tools::FlatIdMap<uint64_t> early_receipts_;  // receipts that came before their response
  codec::Pdu in_;
  codec::Receipt receipt_;
};

}  // namespace smppgw::bench
