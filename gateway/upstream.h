#pragma once
// Upstream MCs. The gateway plays the ESME: per configured upstream it keeps N binds, each with
// its own sequence space, window, TPS bucket, keepalive and reconnect backoff. Requests the binds
// cannot take right now wait in the upstream's bounded queue.
//
//   IDLE --backoff elapsed--> RESOLVING/CONNECTING --tcp up--> BINDING --bind_resp ok--> BOUND
//     ^                                                                                  |
//     '---------------- connection lost / bind refused / keepalive unanswered ----------'

#include <uv.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codec/pdu.h"
#include "config/model.h"
#include "gateway/fair_queue.h"
#include "gateway/gw_metrics.h"
#include "gateway/inflight.h"
#include "gateway/runtime.h"
#include "gateway/token_bucket.h"
#include "gateway/types.h"
#include "net/connection.h"

namespace smppgw {

class Upstream;
class UpstreamBind;

// What the upstream binds need from the gateway around them.
class BindHost {
 public:
  // The carrier answered a forwarded request (any status: the customer gets it as it is).
  virtual void onUpstreamResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp,
                                  codec::Bytes raw) = 0;
  // A forwarded or queued request is over without a usable answer (timeout, bind lost, queue
  // expired, generic_nack): the customer gets `status`.
  virtual void onUpstreamFailed(const UpInFlight& info, uint32_t status) = 0;
  // A request that waited in an upstream's queue is over without being sent: waited
  // timers.response (Expired), the upstream has no bind to send it on (NoBind: a retryable
  // message may go to another member), or the upstream stops (ShuttingDown).
  enum class QueueFailure : uint8_t { Expired, NoBind, ShuttingDown };
  virtual void onQueuedFailed(Upstream& from, const UpInFlight& info, QueueFailure why) = 0;
  // A deliver_sm / data_sm from the carrier (receipt or MO): the host answers it, now or later.
  virtual void onUpstreamDeliver(UpstreamBind& b, const codec::Pdu& pdu, codec::Bytes raw) = 0;
  // A bind came up: queued requests can go.
  virtual void onUpstreamReady(Upstream& u) = 0;
  // The group queue limit (limits.max_queue_per_group) is shared by the group's members.
  virtual bool groupQueueFull(uint32_t group) const = 0;
  virtual void groupQueueChanged(uint32_t group, int delta) = 0;
  // customers[].weight: requests the customer's lane sends per turn while requests wait.
  virtual uint32_t queueWeight(CustomerRt customer) const = 0;

 protected:
  ~BindHost() = default;
};

class UpstreamBind final : public net::ConnectionHandler {
 public:
  enum class State : uint8_t { Idle, Resolving, Connecting, Binding, Bound, Unbinding };

  UpstreamBind(Runtime& rt, BindHost& host, Upstream& up, uint32_t index, bool transmit,
               bool receive);
  ~UpstreamBind() override;

  void onPdu(net::Connection& c, codec::Bytes pdu) override;
  void onFramingError(net::Connection& c, const codec::DecodeError& e) override;
  void onConnected(net::Connection& c, int status) override;
  void onClosed(net::Connection& c, int status) override;
  void onSecured(net::Connection& c) override;

  State state() const { return state_; }
  bool bound() const { return state_ == State::Bound; }
  bool transmits() const { return transmit_; }
  uint32_t index() const { return index_; }
  UpstreamRt upstreamId() const;
  GatewayMetrics::Upstream* metrics() const;
  uint32_t generation() const { return generation_; }
  size_t inFlight() const { return inflight_.size(); }
  // Can take one more request now (bound, transmitting, window and TPS room).
  bool ready(uint64_t now_ms);
  // Sends `pdu` (any seq; patched here) and tracks it. ready() must be true.
  void sendRequest(codec::Bytes pdu, const UpInFlight& info);
  // Sends a response (deliver_sm_resp...) to the MC on this connection.
  void respond(codec::CommandId request, uint32_t seq, uint32_t status);
  codec::Buffer& out() { return conn_->out(); }
  void send() { conn_->send(); }

  void tick(uint64_t now_ms);
  void start(uint64_t now_ms);  // connect now
  void stop(bool graceful);     // unbind (graceful) or drop; no reconnect
  // Unbind gracefully, then reconnect with the current settings (after a reload changed them).
  void recycle();
  void setTps(uint32_t per_bind) { tps_.configureCarrier(per_bind); }
  // Flow control: a carrier's ESME_RTHROTTLED pauses this bind (upstreams[].throttle_pause,
  // doubling while it keeps throttling, reset by a success); ESME_RMSGQFUL and response timeouts
  // halve its effective window, which grows back by one per window of successes (floor 1).
  uint32_t effectiveWindow() const;
  bool paused(uint64_t now_ms) const { return now_ms < paused_until_ms_; }
  bool stopped() const { return stopped_; }
  std::string describe() const;
  const std::string& upstreamName() const;

 private:
  // The only way state_ changes (checked like DownstreamSession::transition).
  void transition(State to);
  void connect();
  void connectTo(const sockaddr* addr);
  void sendBind();
  void lost(const char* reason, int status);
  void scheduleReconnect();
  void handleResponse(const codec::Pdu& pdu, codec::Bytes raw);
  void flowControl(uint32_t status, const codec::Pdu& resp, uint64_t sent_ns, uint64_t now_ms);
  // Halves the effective window, unless the request was sent before the last halving (the
  // losses of one window are one pushback, as in TCP); sent_ns 0: always.
  void shrinkWindow(const char* why, uint64_t sent_ns);

  static void onResolved(uv_getaddrinfo_t* req, int status, addrinfo* res);

  Runtime& rt_;
  BindHost& host_;
  Upstream& up_;
  uint32_t index_;
  bool transmit_;
  bool receive_;
  State state_ = State::Idle;
  bool stopped_ = false;
  net::Connection::Ptr conn_;
  uint32_t generation_ = 0;
  InFlightTable<UpInFlight> inflight_;
  TokenBucket tps_;
  codec::Pdu pdu_;
  uint32_t failures_ = 0;
  uint64_t paused_until_ms_ = 0;
  uint64_t pause_ms_ = 0;  // the last pause (0: none since the last success)
  uint32_t eff_window_ = 1000000;
  uint32_t successes_ = 0;  // since the effective window last changed
  uint32_t answers_since_shrink_ = 1u << 30;
  uint64_t last_shrink_ns_ = 0;  // (large: the first pushback may shrink)
  uint64_t next_attempt_ms_ = 0;
  uint64_t state_since_ms_ = 0;
  uint64_t last_rx_ms_ = 0;
  uint32_t bind_seq_ = 0;
  uint32_t enquire_seq_ = 0;
  uint64_t enquire_sent_ms_ = 0;
  uint32_t unbind_seq_ = 0;
  std::string peer_system_id_;
  uint8_t peer_version_ = 0x34;
  struct Resolve {
    uv_getaddrinfo_t req;
    UpstreamBind* owner;
  };
  Resolve* resolving_ = nullptr;  // owned by libuv until its callback runs
};

class Upstream {
 public:
  Upstream(Runtime& rt, BindHost& host, UpstreamRt id, const config::Upstream& cfg);
  ~Upstream();

  UpstreamRt id() const { return id_; }
  const config::Upstream& cfg() const { return *cfg_; }
  // Index in the current config; kNoId once a reload removed it (it then winds down).
  uint32_t configIndex() const { return cfg_index_; }
  void setConfigIndex(uint32_t i) { cfg_index_ = i; }
  void setMetrics(GatewayMetrics::Upstream* m) { m_ = m; }
  GatewayMetrics::Upstream* metrics() const { return m_; }
  size_t queueDepth() const { return queue_.size(); }
  // A reload: new limits apply at once; changed connection settings reconnect the binds (each
  // unbinds gracefully first); more or fewer binds start or stop them.
  void reconfigure(const config::Upstream& cfg);
  const std::string& name() const { return name_; }

  // At least one transmitting bind is bound (a routing candidate).
  bool available() const;
  size_t boundBinds() const;
  // In flight + queued (least_outstanding strategy).
  size_t outstanding() const;
  // Queue empty and a bind with window and rate room: a request would leave at once.
  bool canSendNow(uint64_t now_ms);
  // A reload renumbered the groups: queued requests follow their group by name (`map[old]`,
  // kNoId when it is gone), and are counted again into `counts`.
  void remapQueuedGroups(const std::vector<uint32_t>& map, std::vector<uint32_t>& counts);

  // Sends now if a bind has room, else queues (bounded); false if the queue is full.
  bool submit(codec::Bytes pdu, const UpInFlight& info, uint64_t now_ms);
  // Moves queued requests onto binds with room (after a response, a bind coming up, a tick).
  void drain(uint64_t now_ms);
  // Fails queued requests that waited too long; reconnect and keepalive timers.
  void tick(uint64_t now_ms);
  void start(uint64_t now_ms);
  void stop(bool graceful);
  // Picks a receive-capable bound bind... (for responses) not needed; a bind by index:
  UpstreamBind* bind(uint32_t index) {
    return index < binds_.size() ? binds_[index].get() : nullptr;
  }
  const std::vector<std::unique_ptr<UpstreamBind>>& binds() const { return binds_; }
  TokenBucket& totalTps() { return total_tps_; }
  std::mt19937& rng();

 private:
  UpstreamBind* pickReady(uint64_t now_ms);

  Runtime& rt_;
  BindHost& host_;
  UpstreamRt id_;
  uint32_t cfg_index_ = config::kNoId;
  GatewayMetrics::Upstream* m_ = nullptr;
  const config::Upstream* cfg_;
  std::string name_;
  std::vector<std::unique_ptr<UpstreamBind>> binds_;
  template <class Expired>
  void expireQueued(Expired expired, BindHost::QueueFailure why);
  QueuedRequest popQueued();  // every request leaving in turn goes through here (group count)
  FairQueue queue_;
  TokenBucket total_tps_;
  uint32_t rr_ = 0;
};

}  // namespace smppgw
