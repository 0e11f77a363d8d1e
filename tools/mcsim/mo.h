#pragma once
// The MO source: --mo-rate messages per second (at most --mo-count), from and to numbers drawn
// from --mo-from / --mo-to, with the --mo-text, round-robin over every bound RX/TRX session.

#include <cstdint>
#include <memory>
#include <vector>

#include "codec/pdu.h"
#include "tools/common/random.h"
#include "tools/mcsim/config.h"

namespace smppgw::net {
class Loop;
class Timer;
}  // namespace smppgw::net

namespace smppgw::mcsim {

class Deliveries;
class SessionTable;
struct Counters;

class MoSource {
 public:
  MoSource(net::Loop& loop, const Config& cfg, tools::Rng& rng, Counters& counters,
           SessionTable& sessions);
  ~MoSource();

  // Starts generating (if --mo-rate is set) into `out`; stop() ends it for good.
  void start(Deliveries& out);
  void stop();

  // The sessions MO messages go to, in bind order.
  void addReceiver(uint32_t index) { receivers_.push_back(index); }
  void removeReceiver(uint32_t index);

  // The text every MO message carries: GSM 03.38 if it can be, else UCS2; one SMS at most.
  codec::Bytes payload() const { return codec::Bytes(payload_.data(), payload_.size()); }
  uint8_t dataCoding() const { return data_coding_; }

 private:
  void onTick(Deliveries& out);

  net::Loop& loop_;
  const Config& cfg_;
  tools::Rng& rng_;
  Counters& counters_;
  SessionTable& sessions_;
  std::unique_ptr<net::Timer> timer_;
  std::vector<uint32_t> receivers_;  // round-robin
  size_t rr_ = 0;
  uint64_t last_ms_ = 0;
  double credit_ = 0;
  tools::NumberRange from_;
  tools::NumberRange to_;
  std::vector<uint8_t> payload_;
  uint8_t data_coding_ = 0;
};

}  // namespace smppgw::mcsim
