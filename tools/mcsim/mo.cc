#include "tools/mcsim/mo.h"

#include <algorithm>
#include <string>

#include "codec/charset.h"
#include "codec/gsm7.h"
#include "net/loop.h"
#include "tools/mcsim/delivery.h"
#include "tools/mcsim/session.h"
#include "tools/mcsim/summary.h"

namespace smppgw::mcsim {

MoSource::MoSource(net::Loop& loop, const Config& cfg, tools::Rng& rng, Counters& counters,
                   SessionTable& sessions)
    : loop_(loop), cfg_(cfg), rng_(rng), counters_(counters), sessions_(sessions) {
  std::string err;
  tools::NumberRange::parse(cfg_.mo_from, from_, err);
  tools::NumberRange::parse(cfg_.mo_to, to_, err);
  if (codec::isGsm7Encodable(cfg_.mo_text)) {
    codec::utf8ToGsm7(cfg_.mo_text, payload_);
    data_coding_ = 0x00;
    if (payload_.size() > 160) {
      payload_.resize(160);
    }
  } else {
    codec::utf8ToUcs2(cfg_.mo_text, payload_);
    data_coding_ = 0x08;
    if (payload_.size() > 140) {
      payload_.resize(140);
    }
  }
}

MoSource::~MoSource() = default;

void MoSource::start(Deliveries& out) {
  if (cfg_.mo_rate <= 0) {
    return;
  }
  timer_ = std::make_unique<net::Timer>(loop_, [this, &out] { onTick(out); });
  last_ms_ = loop_.nowMs();
  timer_->start(10, 10);
}

void MoSource::stop() {
  timer_.reset();
}

void MoSource::removeReceiver(uint32_t index) {
  std::erase(receivers_, index);
}

void MoSource::onTick(Deliveries& out) {
  const uint64_t now = loop_.nowMs();
  credit_ += cfg_.mo_rate * static_cast<double>(now - last_ms_) / 1000.0;
  last_ms_ = now;
  // No burst after an idle spell: at most 100 ms worth of credit.
  credit_ = std::min(credit_, cfg_.mo_rate * 0.1 + 1.0);
  while (credit_ >= 1.0 && !receivers_.empty() &&
         (cfg_.mo_count == 0 || counters_.mo_generated < cfg_.mo_count)) {
    const size_t i = rr_++ % receivers_.size();
    Session* s = sessions_.at(receivers_[i]);
    if (s == nullptr || !s->canReceive() || !s->writable()) {
      receivers_.erase(receivers_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    credit_ -= 1.0;
    Delivery d;
    d.kind = Delivery::Kind::Mo;
    d.src_ton = 1;
    d.src_npi = 1;
    d.src_len = static_cast<uint8_t>(std::min(from_.width, 20u));
    tools::NumberRange::format(rng_.between(from_.lo, from_.hi), d.src_len, d.src);
    d.dst_len = static_cast<uint8_t>(std::min(to_.width, 20u));
    tools::NumberRange::format(rng_.between(to_.lo, to_.hi), d.dst_len, d.dst);
    ++counters_.mo_generated;
    out.enqueueOn(*s, std::move(d));
  }
}

}  // namespace smppgw::mcsim
