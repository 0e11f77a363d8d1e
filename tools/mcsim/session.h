#pragma once
// One ESME's SMPP session: bind, enquire_link, unbind (either side), the dispatch of its
// requests to the message flow and the message book, the answers it writes, and the window of
// deliver_sm it holds. And the table of sessions, indexed and serial-numbered so that delayed
// work can find out whether its session is still the same one.

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "codec/decode.h"
#include "codec/pdu.h"
#include "net/connection.h"
#include "tools/common/inflight.h"
#include "tools/mcsim/delivery.h"

namespace smppgw::mcsim {

class McSim;

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
  bool writable() const { return conn && !conn->closing(); }

  // Answers (each counted in pdus_out).
  void sendHeaderOnly(codec::CommandId id, uint32_t status, uint32_t seq);
  void sendPdu(codec::Pdu& pdu);
  // The response of a message operation (id formatted per config, --response-tlv added).
  void writeMessageResponse(uint32_t response_id, uint32_t seq, uint32_t status, bool has_id,
                            uint64_t msg_id);

  // Shutdown: nothing new is routed here; the unbind follows the answers still in flight.
  void drain();
  // Sends the MC's unbind (its answer closes the session).
  void sendUnbind();
  // Closes the connection after its queued output, and forgets the session.
  void close();
  // Forgets the session (its deliveries go to other receivers); freed after this iteration.
  void drop();

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
  // --tps-per-bind: a token bucket (rate N a second, at most N tokens; starts full).
  uint64_t tps_at_ns = 0;
  double tps_tokens = -1;  // -1: not started

 private:
  void respond(const codec::Pdu& req, uint32_t status);
  void handleBind(const codec::Pdu& pdu);
  void handleUnbind(const codec::Pdu& pdu);
  void handleDeliverResp(uint32_t seq, uint32_t status);
  // Takes the session off the receivers of its account and of MO.
  void stopReceiving();
};

class SessionTable {
 public:
  // A slot for a new session (a freed one first).
  uint32_t reserve();
  uint64_t nextSerial() { return next_serial_++; }
  void install(uint32_t index, std::unique_ptr<Session> s) { sessions_[index] = std::move(s); }
  void unreserve(uint32_t index) { free_.push_back(index); }
  // Frees the slot if it still holds session `serial`.
  void free(uint32_t index, uint64_t serial);

  Session* at(uint32_t index) { return sessions_[index].get(); }
  // The session, if it is still `serial` and not closed.
  Session* find(uint32_t index, uint64_t serial);
  template <class Fn>  // fn(Session&) for every session not yet freed
  void forEach(Fn&& fn) {
    for (size_t i = 0; i < sessions_.size(); ++i) {
      if (sessions_[i]) {
        fn(*sessions_[i]);
      }
    }
  }
  bool allClosed() const;
  size_t boundCount() const;

 private:
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<uint32_t> free_;
  uint64_t next_serial_ = 1;
};

}  // namespace smppgw::mcsim
