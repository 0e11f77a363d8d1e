#include "gateway/id_mapper.h"

#include <algorithm>

#include "base/flat_map.h"
#include "codec/decode.h"
#include "gateway/log.h"

namespace smppgw {

void IdMapper::configureUpstream(UpstreamRt upstream, const config::MessageIdNormalisation& n) {
  if (upstream.value >= options_.size()) {
    options_.resize(upstream.value + 1);
  }
  for (int from_receipt = 0; from_receipt < 2; ++from_receipt) {
    codec::IdKeyOptions& o = options_[upstream.value][from_receipt];
    const config::IdBase base = from_receipt != 0 ? n.receipt : n.response;
    o.treat_as = base == config::IdBase::Hex       ? codec::IdFormat::Hex
                 : base == config::IdBase::Decimal ? codec::IdFormat::Decimal
                                                   : codec::IdFormat::Text;
    o.strip_leading_zeros = n.strip_leading_zeros;
    o.case_insensitive = n.letter_case != config::IdCase::Preserve;
  }
}

void IdMapper::receipt(const codec::Pdu& pdu, codec::Bytes raw, std::string_view id, BindRef from) {
  const uint32_t seq = pdu.sequence_number;
  if (id.empty()) {
    unmatched(from.upstream, "", from, pdu.command_id, seq, metrics::UnmatchedReason::NoId);
    return;
  }
  codec::MessageIdKey key;
  normalise(from.upstream, id, true, key);
  if (store::MappingView m; mappings_.byUpstream(from.upstream.value, key.view(), m)) {
    host_.receiptMatched(m, pdu, raw, from, seq);
    return;
  }
  // Not in memory: an older mapping (evicted, or from before a restart) may be in the durable
  // store. The receipt is held, unanswered, while it is looked up.
  const uint64_t hk = hash64(key.view(), from.upstream.value);
  if (looking_up_.contains(hk) ||
      (host_.lookupStored(from.upstream, key.view()) && looking_up_.insert(hk).second)) {
    hold(pdu, raw, std::string(key.view()), from);
    return;
  }
  // Receipts can overtake their submit_sm_resp: hold it (unanswered, so the carrier keeps it)
  // until the response arrives or the request would have timed out anyway. With nothing in
  // flight to that carrier nothing can match it (e.g. sent before a restart): answer it now.
  if (host_.upstreamOutstanding(from.upstream) == 0) {
    unmatched(from.upstream, key.view(), from, pdu.command_id, seq,
              metrics::UnmatchedReason::NotInFlight);
    return;
  }
  hold(pdu, raw, std::string(key.view()), from);
}

void IdMapper::hold(const codec::Pdu& pdu, codec::Bytes raw, std::string key, BindRef from) {
  rt_.metrics().receipts(from.upstream, CustomerRt{}, "held").inc();
  const config::Upstream* u = host_.upstreamCfg(from.upstream);
  HeldReceipt h;
  h.upstream = from.upstream;
  h.command = pdu.command_id;
  h.key = std::move(key);
  h.pdu.append(raw);
  h.from = from;
  h.upstream_seq = pdu.sequence_number;
  h.until_ms =
      rt_.now() + static_cast<uint64_t>(u != nullptr ? u->request_timeout.count() : 0) + 1000;
  const uint64_t hk = hash64(h.key, from.upstream.value);
  std::vector<HeldReceipt>& list = held_[hk];
  list.push_back(std::move(h));
  held_order_.emplace_back(list.back().until_ms, hk);
}

void IdMapper::storeAnswered(UpstreamRt upstream, std::string_view key,
                             const store::MappingInput* found) {
  const uint64_t hk = hash64(key, upstream.value);
  looking_up_.erase(hk);
  if (store::MappingView newer; mappings_.byUpstream(upstream.value, key, newer)) {
    // A mapping for this carrier id was recorded while the lookup ran (the carrier reused the
    // id for a newer message): the newest submit owns its receipts, not the one on disk.
    release(newer);
    return;
  }
  if (found != nullptr) {
    release(record(*found));
    return;
  }
  auto it = held_.find(hk);
  if (it == held_.end() || host_.upstreamOutstanding(upstream) != 0) {
    return;  // a request in flight may still be theirs: held on, as any overtaking receipt
  }
  std::vector<HeldReceipt> none;
  std::erase_if(it->second, [&](HeldReceipt& h) {
    if (h.upstream == upstream && h.key == key) {
      none.push_back(std::move(h));
      return true;
    }
    return false;
  });
  if (it->second.empty()) {
    held_.erase(it);
  }
  for (HeldReceipt& h : none) {
    unmatched(upstream, key, h.from, h.command, h.upstream_seq,
              metrics::UnmatchedReason::NotInFlight);
  }
}

void IdMapper::storeUnreadable(UpstreamRt upstream, std::string_view key) {
  const uint64_t hk = hash64(key, upstream.value);
  looking_up_.erase(hk);
  auto it = held_.find(hk);
  if (it == held_.end()) {
    return;
  }
  std::erase_if(it->second, [&](HeldReceipt& h) {
    if (h.upstream != upstream || h.key != key) {
      return false;
    }
    host_.answerCarrier(h.from, h.command, h.upstream_seq, gwstatus::kDeliveryLater);
    return true;
  });
  if (it->second.empty()) {
    held_.erase(it);
  }
}

void IdMapper::unmatched(UpstreamRt upstream, std::string_view id, BindRef from,
                         codec::CommandId command, uint32_t upstream_seq,
                         metrics::UnmatchedReason reason) {
  rt_.metrics().receipts(upstream, CustomerRt{}, "unmatched").inc();
  if (const GatewayMetrics::Upstream* m = rt_.metrics().upstreamIf(upstream)) {
    m->unmatched[static_cast<size_t>(reason)]->inc();
  }
  const uint32_t status = rt_.cfg().routing.receipt_unmatched_status;
  host_.answerCarrier(from, command, upstream_seq, status);
  // One line a second at most, with the count since the last: a carrier replaying thousands of
  // receipts after a restart must not flood the log.
  ++unmatched_unlogged_;
  if (rt_.now() >= unmatched_log_ms_) {
    log::warn("receipts_unmatched", "upstream", host_.upstreamName(upstream), "count",
              unmatched_unlogged_, "reason", metrics::label(reason), "last_id", id, "answered",
              statusLabel(status));
    unmatched_unlogged_ = 0;
    unmatched_log_ms_ = rt_.now() + 1000;
  }
}

void IdMapper::release(UpstreamRt upstream, std::string_view key) {
  auto it = held_.find(hash64(key, upstream.value));
  if (it == held_.end()) {
    return;
  }
  std::vector<HeldReceipt> matched;
  std::erase_if(it->second, [&](HeldReceipt& h) {
    if (h.upstream == upstream && h.key == key) {
      matched.push_back(std::move(h));
      return true;
    }
    return false;
  });
  if (it->second.empty()) {
    held_.erase(it);
  }
  for (HeldReceipt& h : matched) {
    codec::Pdu p;
    store::MappingView m;
    if (!codec::decode(h.pdu.view(), p) && mappings_.byUpstream(upstream.value, key, m)) {
      host_.receiptMatched(m, p, h.pdu.view(), h.from, h.upstream_seq);
    } else {
      unmatched(upstream, key, h.from, h.command, h.upstream_seq,
                metrics::UnmatchedReason::HeldExpired);
    }
  }
}

void IdMapper::tick(uint64_t now) {
  // Held receipts whose submit_sm_resp never came: unmatched.
  while (!held_order_.empty() && held_order_.front().first <= now) {
    const uint64_t hk = held_order_.front().second;
    held_order_.pop_front();
    if (looking_up_.contains(hk)) {
      held_order_.emplace_back(now + 1000, hk);  // the durable store has not answered yet
      continue;
    }
    auto it = held_.find(hk);
    if (it == held_.end()) {
      continue;
    }
    std::erase_if(it->second, [&](HeldReceipt& h) {
      if (h.until_ms > now) {
        return false;
      }
      rt_.metrics().receipts(h.upstream, CustomerRt{}, "expired").inc();
      unmatched(h.upstream, h.key, h.from, h.command, h.upstream_seq,
                metrics::UnmatchedReason::HeldExpired);
      return true;
    });
    if (it->second.empty()) {
      held_.erase(it);
    }
  }
  // Held receipts of a carrier with nothing in flight any more: every request they could have
  // belonged to has been answered or failed, so none of them will ever match.
  for (auto it = held_.begin(); it != held_.end();) {
    if (looking_up_.contains(it->first)) {
      ++it;  // the durable store has not answered yet
      continue;
    }
    std::erase_if(it->second, [&](HeldReceipt& h) {
      if (host_.upstreamOutstanding(h.upstream) != 0) {
        return false;
      }
      rt_.metrics().receipts(h.upstream, CustomerRt{}, "expired").inc();
      unmatched(h.upstream, h.key, h.from, h.command, h.upstream_seq,
                metrics::UnmatchedReason::HeldExpired);
      return true;
    });
    it = it->second.empty() ? held_.erase(it) : std::next(it);
  }
}

void IdMapper::countHeld(std::vector<int64_t>& per_upstream) const {
  for (const auto& [hk, list] : held_) {
    for (const HeldReceipt& h : list) {
      if (h.upstream.value < per_upstream.size()) {
        ++per_upstream[h.upstream.value];
      }
    }
  }
}

}  // namespace smppgw
