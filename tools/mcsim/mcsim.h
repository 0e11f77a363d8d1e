#pragma once
// smpp-mcsim: an SMS centre (MC) simulator. It accepts ESME binds, answers every message
// operation with ids, injects latency / errors / throttling, sends receipts and MO messages as
// deliver_sm with a window per session, and keeps counters for a JSON summary.
//
// One libuv loop; no allocation per PDU in the steady state (decode into a reused Pdu, responses
// encoded straight into the connection's output, delayed work in a slab + binary heap of
// deadlines served by one nanosecond timer).

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/pdu.h"
#include "codec/receipt.h"
#include "net/connection.h"
#include "net/loop.h"
#include "tools/common/inflight.h"
#include "tools/common/precise_timer.h"
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

// Counts PDUs by command id and command_status without allocating.
class PduCounters {
 public:
  void add(uint32_t command_id, uint32_t status);
  template <class Fn>  // fn(command_id, total, statuses[(status, count)])
  void forEach(Fn&& fn) const {
    for (const Entry& e : entries_) {
      if (e.total != 0) {
        fn(e.command_id, e.total, e.statuses, e.nstatus);
      }
    }
  }
  uint64_t total(uint32_t command_id) const;
  uint64_t count(uint32_t command_id, uint32_t status) const;

  struct StatusCount {
    uint32_t status = 0;
    uint64_t count = 0;
  };
  static constexpr size_t kMaxStatuses = 15;  // the last slot collects the rest

 private:
  struct Entry {
    uint32_t command_id = 0;
    uint64_t total = 0;
    std::array<StatusCount, kMaxStatuses + 1> statuses{};
    uint8_t nstatus = 0;
  };
  static size_t slot(uint32_t command_id);
  std::array<Entry, 1025> entries_{};  // (id & 0x1FF) * 2 + response bit; 1024 = others
};

// A receipt or MO message waiting to be delivered, or an MC-originated unbind in flight.
struct Delivery {
  enum class Kind : uint8_t { Receipt, Mo, Unbind };
  Kind kind = Kind::Receipt;
  uint8_t src_ton = 0, src_npi = 0, dst_ton = 0, dst_npi = 0;
  uint8_t src_len = 0, dst_len = 0, text_len = 0;
  uint8_t state = 2;  // receipt: message_state
  uint8_t err = 0;
  char src[21] = {};
  char dst[21] = {};
  char text[20] = {};  // receipt: first 20 characters of the message
  uint64_t msg_id = 0;
  int64_t submit_unix = 0;
  int64_t done_unix = 0;
  uint32_t attempts = 0;
};

class McSim;

struct Account {
  std::string system_id;
  std::vector<uint32_t> receivers;  // indices of bound RX/TRX sessions
  size_t rr = 0;
  std::deque<Delivery> pending;  // nobody to receive them yet
};

class Session : public net::ConnectionHandler {
 public:
  // Draining: shutting down, waiting for in-flight deliver_sm responses before the unbind.
  // PeerUnbound: the peer's unbind is answered; its answers to our deliver_sm still in flight
  // are awaited (they may cross the unbind) before the connection closes.
  enum class State : uint8_t {
    Open,
    BoundTx,
    BoundRx,
    BoundTrx,
    Draining,
    Unbinding,
    PeerUnbound,
    Closed
  };

  Session(McSim& sim, uint32_t index, uint64_t serial, uint32_t window);
  void onPdu(net::Connection& c, codec::Bytes pdu) override;
  void onFramingError(net::Connection& c, const codec::DecodeError& e) override;
  void onClosed(net::Connection& c, int status) override;

  bool canTransmit() const { return state == State::BoundTx || state == State::BoundTrx; }
  bool canReceive() const { return state == State::BoundRx || state == State::BoundTrx; }
  bool bound() const { return canTransmit() || canReceive(); }

  McSim& sim;
  uint32_t index;
  uint64_t serial;
  net::Connection::Ptr conn;
  State state = State::Open;
  uint8_t version = 0x34;
  Account* account = nullptr;
  tools::InflightRing<Delivery> inflight;
  std::deque<Delivery> queue;  // waiting for room in the window
  uint64_t opened_ns = 0;
};

class McSim {
 public:
  McSim(net::Loop& loop, Config config);
  ~McSim();
  McSim(const McSim&) = delete;
  McSim& operator=(const McSim&) = delete;

  // Binds the listener (and writes the port file). False with a message on stderr on failure.
  bool start();
  // First call: unbind every bound session, then stop the loop once they are gone (or after the
  // unbind timeout). A second call stops at once.
  void shutdown();
  uint16_t port() const { return port_; }
  // The JSON summary (one line).
  std::string summaryJson() const;

  // Called by sessions.
  void handlePdu(Session& s, codec::Bytes pdu);
  void handleFramingError(Session& s, const codec::DecodeError& e);
  void handleClosed(Session& s, int status);

 private:
  struct Job {
    enum class Kind : uint8_t { Response, Receipt };
    Kind kind = Kind::Response;
    bool has_id = false;
    bool receipt_before = false;  // Response: write `delivery` first (receipt-before-response)
    uint32_t session_index = 0;
    uint64_t session_serial = 0;
    uint32_t response_id = 0;
    uint32_t seq = 0;
    uint32_t status = 0;
    uint64_t msg_id = 0;
    Account* account = nullptr;
    Delivery delivery;
  };
  struct Record {  // one remembered message (slot = (id - id_start) & mask)
    uint64_t id = 0;
    uint64_t done_ns = 0;
    int64_t submit_unix = 0;
    int64_t done_unix = 0;
    uint8_t state = 0;  // final state it reaches at done_ns
    uint8_t err = 0;
    bool valid = false;
    bool cancelled = false;
    bool replaced = false;
  };

  void onAccept(uv_stream_t* server);
  Session* session(uint32_t index, uint64_t serial);
  void respond(Session& s, const codec::Pdu& req, uint32_t status);
  void sendHeaderOnly(Session& s, codec::CommandId id, uint32_t status, uint32_t seq);
  void handleBind(Session& s, const codec::Pdu& pdu);
  void handleMessage(Session& s, const codec::Pdu& pdu);
  void handleQuery(Session& s, const codec::Pdu& pdu);
  void handleCancel(Session& s, const codec::Pdu& pdu);
  void handleReplace(Session& s, const codec::Pdu& pdu);
  void handleBroadcast(Session& s, const codec::Pdu& pdu);
  void handleQueryBroadcast(Session& s, const codec::Pdu& pdu);
  void handleCancelBroadcast(Session& s, const codec::Pdu& pdu);
  // Notes a by-id operation (and a broadcast_sm) for the summary's "operations".
  void journal(codec::CommandId id, std::string_view message_id, uint32_t status);
  void handleDeliverResp(Session& s, uint32_t seq, uint32_t status);
  void handleUnbind(Session& s, const codec::Pdu& pdu);

  // Writes the response of a message operation (id formatted per config).
  void writeMessageResponse(Session& s, uint32_t response_id, uint32_t seq, uint32_t status,
                            bool has_id, uint64_t msg_id);
  // Routes a delivery to a receiving session of the account (the preferred one if it can take
  // it), or parks it on the account.
  void deliver(Delivery&& d, Account* account, Session* preferred);
  void enqueueOn(Session& s, Delivery&& d);
  void sendDeliverSm(Session& s, Delivery& d);
  void pump(Session& s);
  void requeue(Session& s);
  bool receiptWanted(uint8_t registered_delivery, uint8_t final_state) const;
  uint8_t pickFinalState();
  Record* findRecord(std::string_view id_text);
  struct Broadcast;
  Broadcast* findBroadcast(std::string_view id_text);

  void schedule(uint64_t due_ns, Job&& job);
  void runDue();
  void runJob(Job& job);
  void armTimer();
  void onMoTick();
  void onHousekeeping();
  void onRetryTick();
  void finishShutdown();
  void maybeFinish();
  void sendUnbind(Session& s);
  bool writable(const Session& s) const { return s.conn && !s.conn->closing(); }
  // Closes the session's connection after its queued output, and forgets the session.
  void closeSession(Session& s);
  void dropSession(Session& s);
  int64_t unixAt(uint64_t mono_ns) const {
    return wall_base_s_ + static_cast<int64_t>((mono_ns - mono_base_ns_) / 1000000000ull);
  }
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

  std::string_view formatId(uint64_t id, IdFormat fmt, uint32_t width, char* buf) const;
  void formatDate10(int64_t unix_s, char* out);  // YYMMDDhhmm
  bool parseIdText(std::string_view text, IdFormat fmt, uint64_t& out) const;

  net::Loop& loop_;
  Config cfg_;
  tools::Rng rng_;
  std::unique_ptr<net::Listener> listener_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<uint32_t> free_sessions_;
  uint64_t next_serial_ = 1;
  std::map<std::string, std::unique_ptr<Account>, std::less<>> accounts_;
  std::vector<uint32_t> all_receivers_;  // for MO, round-robin
  size_t mo_rr_ = 0;

  std::vector<Job> jobs_;
  std::vector<uint32_t> free_jobs_;
  std::vector<std::pair<uint64_t, uint32_t>> heap_;  // (due_ns, job index), min-heap
  tools::PreciseTimer job_timer_;

  // One broadcast_sm accepted: active until cancelled (the book is bounded by --remember).
  struct Broadcast {
    bool cancelled = false;
    int64_t cancelled_unix = 0;
    std::vector<std::vector<uint8_t>> areas;  // broadcast_area_identifier values
  };
  // The last by-id operations seen (query/cancel/replace, the broadcast family), oldest first.
  struct Operation {
    uint32_t command_id = 0;
    std::string message_id;
    uint32_t status = 0;
  };
  static constexpr size_t kMaxOperations = 1000;

  std::vector<Record> records_;
  std::map<uint64_t, Broadcast> broadcasts_;  // by id
  std::deque<Operation> operations_;
  uint64_t records_mask_ = 0;
  uint64_t next_id_ = 1;

  std::unique_ptr<net::Timer> mo_timer_;
  uint64_t mo_last_ms_ = 0;
  double mo_credit_ = 0;
  tools::NumberRange mo_from_;
  tools::NumberRange mo_to_;
  std::vector<uint8_t> mo_payload_;
  uint8_t mo_data_coding_ = 0;

  std::unique_ptr<net::Timer> housekeeping_;
  std::unique_ptr<net::Timer> retry_timer_;
  struct Retry {
    uint64_t due_ms;
    Account* account;
    Delivery d;
  };
  std::deque<Retry> retries_;  // deliveries answered temporary-error, oldest first
  std::unique_ptr<net::Timer> duration_timer_;
  std::unique_ptr<net::Timer> unbind_timer_;
  bool shutting_down_ = false;
  bool finished_ = false;

  std::array<double, 10> cumulative_weights_{};
  codec::Pdu in_;       // reused decode target
  codec::Pdu out_pdu_;  // reused for deliver_sm
  std::string text_;    // reused receipt text
  int64_t date_cache_unix_ = -1;
  char date_cache_[11] = {};
  uint64_t queued_ = 0;  // deliveries in session queues and account pendings
  uint64_t started_ns_ = 0;
  int64_t wall_base_s_ = 0;  // wall clock at mono_base_ns_ (dates without a syscall each)
  uint64_t mono_base_ns_ = 0;

  // Counters for the summary.
  PduCounters pdus_in_;
  PduCounters pdus_out_;
  uint64_t binds_ok_ = 0, binds_failed_ = 0, bind_tx_ = 0, bind_rx_ = 0, bind_trx_ = 0;
  uint64_t connections_ = 0, closed_ = 0;
  uint64_t accepted_ = 0, errors_ = 0, throttled_ = 0;
  uint64_t receipts_sent_ = 0, receipts_acked_ = 0, receipts_failed_ = 0;
  uint64_t receipts_dropped_ = 0, receipts_cancelled_ = 0, receipts_retried_ = 0;
  uint64_t mo_generated_ = 0, mo_sent_ = 0, mo_acked_ = 0, mo_failed_ = 0, mo_dropped_ = 0;
  uint64_t mo_retried_ = 0;
  struct Lingering {
    uint32_t index;
    uint64_t serial;
    uint64_t until_ms;
  };
  std::vector<Lingering> lingering_;  // PeerUnbound sessions, closed at until_ms at the latest
  // deliver_sm sent on a session that closed before answering them (also counted failed/retried).
  uint64_t receipts_unanswered_at_close_ = 0, mo_unanswered_at_close_ = 0;
  uint64_t responses_dropped_ = 0;  // delayed responses whose session had gone
  uint64_t framing_errors_ = 0;
};

}  // namespace smppgw::mcsim
