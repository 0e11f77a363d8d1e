#pragma once
// A customer's SMPP session: the gateway plays the MC. Owns the connection, enforces the session
// state machine (v3.4 §2.2, v5.0 §2.3), the customer's window, the keepalive and inactivity
// timers, and the deliveries (receipts, MO) it has sent and not yet seen answered.
//
//   OPEN --bind--> AUTHENTICATING --ok--> BOUND_{TX,RX,TRX} --unbind--> UNBINDING --> CLOSED
//     \                           \--fail--> OPEN (bind_resp with the reason)
//      \--session_init timer, framing error, peer close--> CLOSED

#include <cstdint>
#include <optional>
#include <string>

#include "codec/decode.h"
#include "codec/pdu.h"
#include "config/model.h"
#include "gateway/gw_metrics.h"
#include "gateway/inflight.h"
#include "gateway/runtime.h"
#include "gateway/types.h"
#include "net/connection.h"

namespace smppgw {

class DownstreamSession;

// What a customer session needs from the gateway around it.
class SessionHost {
 public:
  // A bind PDU: the outcome comes back as bindSucceeded / bindFailed (maybe later: the password
  // check runs on the thread pool).
  virtual void authenticate(DownstreamSession& s, codec::CommandId bind, uint32_t seq,
                            const codec::BindBody& body) = 0;
  // submit_sm, data_sm, submit_multi, broadcast_sm / the by-id operations (query_sm, cancel_sm,
  // replace_sm, query/cancel_broadcast_sm). The session has taken a window slot for it.
  virtual MtResult onSubmit(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw) = 0;
  virtual MtResult onById(DownstreamSession& s, const codec::Pdu& pdu) = 0;
  // The customer answered a delivery / will not (timeout, session closed): the carrier learns it.
  virtual void onDeliveryAnswered(DownstreamSession& s, Delivery d, uint32_t status) = 0;
  virtual void onDeliveryFailed(Delivery d, metrics::DeferReason reason) = 0;
  // notReading() changed.
  virtual void onReceiverReadingChanged(DownstreamSession& s) = 0;
  virtual void onSessionBound(DownstreamSession& s) = 0;
  // The PROXY header named the peer: false refuses it (limits per source address, a block);
  // the session then closes.
  virtual bool onPeerKnown(DownstreamSession& s) = 0;
  // The session is over: the host frees its slot (the object at the end of the iteration).
  virtual void onSessionClosed(DownstreamSession& s) = 0;
  virtual GatewayMetrics::Customer* customerMetrics(CustomerRt customer) = 0;

 protected:
  ~SessionHost() = default;
};

class DownstreamSession final : public net::ConnectionHandler {
 public:
  enum class State : uint8_t { Open, Authenticating, Bound, Unbinding, Closed };

  DownstreamSession(Runtime& rt, SessionHost& host, SessionRef ref, config::ListenerId listener,
                    net::Connection::Ptr conn, uint64_t now_ms);
  ~DownstreamSession() override;

  // net::ConnectionHandler
  void onPdu(net::Connection& c, codec::Bytes pdu) override;
  void onFramingError(net::Connection& c, const codec::DecodeError& e) override;
  void onClosed(net::Connection& c, int status) override;
  void onProxyHeader(net::Connection& c) override;
  void onSecured(net::Connection& c) override;
  // The TLS session under this connection (null: plaintext), for the bind's certificate check.
  const net::TlsSession* tls() const { return conn_->tls(); }

  SessionRef ref() const { return ref_; }
  State state() const { return state_; }
  config::BindType bindType() const { return bind_type_; }
  CustomerRt customer() const { return customer_; }
  config::ListenerId listener() const { return listener_; }
  const std::string& systemId() const { return system_id_; }
  uint8_t version() const { return version_; }
  bool bound() const { return state_ == State::Bound; }
  bool canTransmit() const { return bound() && bind_type_ != config::BindType::Receiver; }
  bool canReceive() const {
    return (state_ == State::Bound || state_ == State::Unbinding) &&
           bind_type_ != config::BindType::Transmitter;
  }
  // New deliveries go only to bound receivers (not to one that is unbinding).
  bool acceptsDeliveries() const {
    return state_ == State::Bound && bind_type_ != config::BindType::Transmitter;
  }
  // A receiver that left a deliver_sm unanswered past timers.delivery_response: it gets no new
  // deliveries until it sends a PDU (any PDU shows it reads again).
  bool notReading() const { return not_reading_; }
  // A new delivery can go to it now: bound receiver, reading, room in its delivery window.
  bool canTakeDelivery() const { return acceptsDeliveries() && !not_reading_ && deliveryRoom(); }
  const std::string& peer() const { return peer_; }
  const sockaddr_storage& peerSockaddr() const { return conn_->peerSockaddr(); }

  // Output to the customer (flushed once at the end of the loop iteration).
  codec::Buffer& out() { return conn_->out(); }
  void send() { conn_->send(); }
  // Answers one of the customer's requests that took a window slot (submit_sm and the others the
  // host's onSubmit/onById saw) and frees the slot: with a header-only response (errors carry no
  // body, v3.4 §4.4.2), or with what `write` appends to the output.
  void answerStatus(codec::CommandId request, uint32_t seq, uint32_t status) {
    respondStatus(request, seq, status);
    requestAnswered();
  }
  template <class Write>
  void answer(Write&& write) {
    write(out());
    send();
    requestAnswered();
  }

  // Deliveries (deliver_sm / data_sm to the customer).
  bool deliveryRoom() const { return deliveries_.size() < delivery_window_; }
  // Appends `pdu` (encoded for this session's version, any seq) and tracks it; returns the seq.
  uint32_t sendDelivery(codec::Bytes pdu, Delivery d);

  // Bind outcome (from the gateway's authentication).
  void bindSucceeded(codec::CommandId bind, uint32_t seq, CustomerRt customer, uint32_t window,
                     uint32_t delivery_window);
  // An auth_failure (unknown system_id, wrong password, certificate, blocked source) is answered
  // after auth.failure_delay, reading nothing meanwhile, and its
  // auth.max_attempts_per_connection-th closes the connection once answered.
  void bindFailed(codec::CommandId bind, uint32_t seq, uint32_t status, bool auth_failure = false);
  // Counted in its source address's connections (the host's limits.max_connections_per_source).
  bool sourceCounted() const { return source_counted_; }
  void setSourceCounted() { source_counted_ = true; }

  // Timers, driven by the gateway's tick.
  void tick(uint64_t now_ms);
  // Starts an unbind from our side (shutdown, customer removed); closes when answered.
  void unbind(const char* reason);
  // Closes at once (after flushing what is queued).
  void close(const char* reason);
  bool closed() const { return state_ == State::Closed; }
  // A reload changed the customer's window.
  void setWindow(uint32_t window) {
    window_ = window;
    delivery_window_ = window;
  }
  void setOutputLimit(size_t bytes) { conn_->setOutputLimit(bytes); }
  uint32_t outstanding() const { return outstanding_; }
  uint32_t window() const { return window_; }

 private:
  void respondStatus(codec::CommandId request, uint32_t seq, uint32_t status);
  void requestAnswered();
  void handle(const codec::Pdu& pdu, codec::Bytes raw);
  void handleBind(const codec::Pdu& pdu);
  void handleResponse(const codec::Pdu& pdu);
  void answerDecodeError(const codec::DecodeError& e);
  void failDeliveries(metrics::DeferReason reason);
  void maybeFinishUnbind();
  void refuseBind(codec::CommandId bind, uint32_t seq, uint32_t status, bool auth_failure);
  // The only way state_ changes: the allowed changes are checked (debug builds stop on any other;
  // release builds log it, count it and take it).
  void transition(State to);

  Runtime& rt_;
  SessionHost& host_;
  GatewayMetrics::Customer* m_ = nullptr;  // set once bound
  SessionRef ref_;
  config::ListenerId listener_;
  net::Connection::Ptr conn_;
  std::string peer_;
  State state_ = State::Open;
  config::BindType bind_type_ = config::BindType::Transceiver;
  CustomerRt customer_;
  std::string system_id_;
  uint8_t version_ = 0x34;
  uint32_t window_ = 10;
  uint32_t delivery_window_ = 10;
  uint32_t outstanding_ = 0;  // customer requests not yet answered
  codec::Pdu pdu_;            // decode target, reused
  InFlightTable<Delivery> deliveries_;
  uint64_t opened_ms_;
  uint64_t last_rx_ms_;
  uint64_t last_activity_ms_;  // last non-keepalive PDU (inactivity timer)
  uint32_t enquire_seq_ = 0;   // outstanding enquire_link, 0 = none
  uint64_t enquire_sent_ms_ = 0;
  uint32_t unbind_seq_ = 0;       // our unbind, awaiting unbind_resp
  uint32_t peer_unbind_seq_ = 0;  // their unbind, answered once outstanding requests are done
  uint64_t unbind_started_ms_ = 0;
  bool not_reading_ = false;
  bool source_counted_ = false;
  // A failed bind's answer, held for auth.failure_delay.
  struct HeldRefusal {
    codec::CommandId bind;
    uint32_t seq;
    uint32_t status;
    uint64_t due_ms;
  };
  std::optional<HeldRefusal> held_refusal_;
  uint32_t failed_binds_ = 0;  // auth failures on this connection
};

}  // namespace smppgw
