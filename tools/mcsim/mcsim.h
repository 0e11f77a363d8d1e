#pragma once
// smpp-mcsim: an SMS centre (MC) simulator. It accepts ESME binds, answers every message
// operation with ids, injects latency / errors / throttling, sends receipts and MO messages as
// deliver_sm with a window per session, and keeps counters for a JSON summary.
//
// One libuv loop; no allocation per PDU in the steady state (decode into a reused Pdu, responses
// encoded straight into the connection's output, delayed work in a slab + binary heap of
// deadlines served by one nanosecond timer).
//
// The parts, each in its own file: session.h (the SMPP session and the session table),
// messages.h (submit_sm/data_sm/submit_multi: ids, latency, errors, receipts) with scheduler.h
// (delayed jobs), book.h (ids remembered for query/cancel/replace, broadcasts), delivery.h
// (deliver_sm windows, queues, retries), mo.h (the MO source) and summary.h (counters, JSON).
// McSim owns them, the listener, the accounts and the periodic ticks, and runs the shutdown.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/pdu.h"
#include "net/connection.h"
#include "net/loop.h"
#include "tools/common/random.h"
#include "tools/mcsim/book.h"
#include "tools/mcsim/config.h"
#include "tools/mcsim/delivery.h"
#include "tools/mcsim/messages.h"
#include "tools/mcsim/mo.h"
#include "tools/mcsim/session.h"
#include "tools/mcsim/summary.h"

namespace smppgw::mcsim {

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

  // What the sessions reach through the simulator.
  const Config& cfg() const { return cfg_; }
  Counters& counters() { return counters_; }
  MessageBook& book() { return book_; }
  Messages& messages() { return messages_; }
  Deliveries& deliveries() { return deliveries_; }
  MoSource& mo() { return mo_; }
  codec::Pdu& decodeTarget() { return in_; }
  // The account of `system_id`, created at its first bind.
  Account& account(std::string_view system_id);
  // A PeerUnbound session is closed after --unbind-timeout at the latest.
  void linger(Session& s);
  // A dropped session is freed after this loop iteration (it may be deep in its own callback).
  void release(Session& s);
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

 private:
  static Config resolved(Config config);
  void onAccept(uv_stream_t* server);
  void onHousekeeping();
  void onRetryTick();
  void finishShutdown();
  void maybeFinish();

  net::Loop& loop_;
  const Config cfg_;
  tools::Rng rng_;
  Counters counters_;
  SessionTable sessions_;
  std::map<std::string, std::unique_ptr<Account>, std::less<>> accounts_;
  MessageBook book_;
  MoSource mo_;
  Deliveries deliveries_;
  Messages messages_;
  std::unique_ptr<net::Listener> listener_;
  std::shared_ptr<net::TlsContext> tls_;  // null: plaintext listener
  uint16_t port_ = 0;

  std::unique_ptr<net::Timer> housekeeping_;
  std::unique_ptr<net::Timer> retry_timer_;
  std::unique_ptr<net::Timer> duration_timer_;
  std::unique_ptr<net::Timer> unbind_timer_;
  bool shutting_down_ = false;
  bool finished_ = false;
  struct Lingering {
    uint32_t index;
    uint64_t serial;
    uint64_t until_ms;
  };
  std::vector<Lingering> lingering_;  // PeerUnbound sessions, closed at until_ms at the latest

  codec::Pdu in_;  // reused decode target
  uint64_t started_ns_ = 0;
};

}  // namespace smppgw::mcsim
