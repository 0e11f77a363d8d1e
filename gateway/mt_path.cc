// The MT path (customer -> carrier): admission, routing, rewrite, hand-off to an upstream, and the
// relay of the carrier's response with the gateway's id.

#include "gateway/gateway.h"

#include <algorithm>

#include "codec/encode.h"
#include "codec/splice.h"
#include "codec/udh.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"
#include "routing/concat.h"

namespace smppgw {

namespace {
constexpr uint64_t kForwardPauseMs = 500;  // store_and_forward: no member up, or its queue full
}  // namespace

// ---------------------------------------------------------------------------------------------
// Submissions (customer -> carrier)

// Thousandths of a rate_limit token a submission costs (customers[].rate_limit.count).
uint64_t rateCost(config::RateCount count, const codec::Pdu& pdu, const SubmitFields& f) {
  if (count == config::RateCount::Pdus) {
    return 1000;
  }
  uint32_t total = 0;  // parts of the concatenated message this PDU is one of (0: not one)
  if ((f.esm_class & 0x40) != 0 && !f.short_message.empty()) {
    if (auto ci = codec::concatInfo(f.short_message)) {
      total = ci->total;
    }
  } else if (auto t = pdu.tlvs.integer(codec::tag::sar_total_segments)) {
    total = static_cast<uint32_t>(*t);
  }
  if (count == config::RateCount::Messages) {
    return total > 1 ? (1000 + total - 1) / total : 1000;
  }
  if (total > 0) {
    return 1000;  // one part, one segment
  }
  // Segments: what the carrier will split the text into (GSM 03.38 default alphabet one
  // character per octet here; UCS-2 two octets per character; anything else octets).
  size_t octets = f.short_message.size();
  if (auto mp = pdu.tlvs.bytes(codec::tag::message_payload)) {
    octets = mp->size();
  }
  const uint8_t dc = f.data_coding;
  const bool gsm = dc == 0x00 || dc == 0x01 || (dc & 0xF0) == 0xF0;
  const size_t single = gsm ? 160 : 140;
  const size_t per = gsm ? 153 : 134;  // (7-bit in UDH'd parts: 153; UCS-2 67 x 2; 8-bit 134)
  const uint64_t segments = octets <= single ? 1 : (octets + per - 1) / per;
  return segments * 1000;
}

MtResult Gateway::onSubmit(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw) {
  const uint64_t t = now();
  const CustomerRt cid = s.customer();
  const config::Customer* custp = customerCfg(cid);
  if (custp == nullptr) {
    return MtResult::refused(gwstatus::kShuttingDown);
  }
  const config::Customer& cust = *custp;
  using R = metrics::RefusalReason;
  auto refuse = [&](uint32_t status, R reason) {
    refuseMetric(cid, reason);
    return MtResult::refused(status);
  };
  if (shutting_down_) {
    return refuse(gwstatus::kShuttingDown, R::Shutdown);
  }
  if (store_failing_) [[unlikely]] {
    // The store refuses writes: an accepted message could get no durable id.
    return refuse(codec::status::ESME_RSYSERR, R::Store);
  }
  SubmitFields f = submitFields(pdu);
  const uint64_t cost = rateCost(cust.rate_limit.count, pdu, f);
  CustomerState& cs = state(cid);
  TokenBucket* sender = nullptr;
  if (const uint32_t per = cust.rate_limit.per_sender; per != 0) {
    auto it = cs.sender_rate.find(f.source);  // a known sender: no allocation
    if (it == cs.sender_rate.end()) {
      it = cs.sender_rate.emplace(std::string(f.source), TokenBucket(per, per)).first;
    }
    sender = &it->second;
    if (sender->msUntilMilli(t, cost) != 0) {
      return refuse(gwstatus::kRateLimited, R::Rate);  // this sender is over its own limit
    }
  }
  // Requests held for a token go first: a new one waits behind them.
  if (!cs.held.empty() || !cs.rate.tryTakeMilli(t, cost)) {
    const uint64_t max_wait = ms(cust.rate_limit.max_wait);
    // Held only if the tokens of everything held before it and its own come within max_wait.
    if (max_wait == 0 || cs.held.size() >= cust.window ||
        cs.held_cost + cost > cs.rate.tokensMilli(t) + max_wait * cust.rate_limit.per_second) {
      return refuse(gwstatus::kRateLimited, R::Rate);
    }
    // Shaping: held until its token is there (tick and the shaping timer release it).
    HeldSubmit h;
    h.ref = s.ref();
    h.command = pdu.command_id;
    h.seq = pdu.sequence_number;
    h.raw.append(raw);
    h.cost = cost;
    h.deadline_ms = t + max_wait;
    cs.held.push_back(std::move(h));
    cs.held_cost += cost;
    if (sender != nullptr) {
      sender->tryTakeMilli(t, cost);
    }
    armShaping(t);
    return MtResult::forwarded();
  }
  if (sender != nullptr) {
    sender->tryTakeMilli(t, cost);  // (there: checked above)
  }
  return admitted(s, cust, pdu, raw, f, t);
}

// (Inlined into its callers: it was part of them, and a call per message costs.)
[[gnu::always_inline]] inline MtResult Gateway::admitted(DownstreamSession& s,
                                                         const config::Customer& cust,
                                                         const codec::Pdu& pdu, codec::Bytes raw,
                                                         const SubmitFields& f, uint64_t t) {
  const CustomerRt cid = s.customer();
  using R = metrics::RefusalReason;
  auto refuse = [&](uint32_t status, R reason) {
    refuseMetric(cid, reason);
    return MtResult::refused(status);
  };
  if (!cust.sourceAllowed(f.source)) {
    return refuse(st::ESME_RINVSRCADR, R::Policy);
  }
  if (pdu.command_id == CommandId::submit_multi) {
    return onSubmitMulti(s, cust, pdu, t);
  }
  return routeSubmission(s, cust, pdu, raw, f, t, 0, 0);
}

MtResult Gateway::routeSubmission(DownstreamSession& s, const config::Customer& cust,
                                  const codec::Pdu& pdu, codec::Bytes raw, const SubmitFields& f,
                                  uint64_t t, uint64_t multi, uint8_t multi_dest) {
  const CustomerRt cid = s.customer();
  using R = metrics::RefusalReason;
  auto refuse = [&](uint32_t status, R reason) {
    refuseMetric(cid, reason);
    if (multi != 0) {
      multiPartDone(multi, multi_dest, status);  // the submit_multi_resp lists it
      return MtResult::forwarded();
    }
    return MtResult::refused(status);
  };
  routing::MtKey key;
  key.customer = state(cid).cfg;
  key.listener = s.listener();
  key.source_addr = f.source;
  key.source_ton = f.source_ton;
  key.source_npi = f.source_npi;
  key.destination_addr = f.destination;
  key.destination_ton = f.dest_ton;
  key.destination_npi = f.dest_npi;
  key.service_type = f.service_type;
  key.data_coding = f.data_coding;
  key.esm_class = f.esm_class;
  routing::MtDecision d = table_->route(key);
  if (!d.routed()) {
    return refuse(d.status != 0 ? d.status : cfg().routing.unroutable_status, R::NoRoute);
  }
  if (d.ack_mode == config::AckMode::StoreAndForward && store_ && multi == 0 &&
      (pdu.command_id == CommandId::submit_sm || pdu.command_id == CommandId::data_sm))
      [[unlikely]] {
    return acceptForward(s, pdu, raw, d);  // answered once queued, sent from the queue
  }

  UpInFlight info;
  info.kind = UpInFlight::Kind::Forward;
  info.command = pdu.command_id;
  info.origin = s.ref();
  info.origin_seq = pdu.sequence_number;
  info.customer = cid;
  info.started_ns = loop_.cachedNs();
  info.registered_delivery = f.registered_delivery;
  info.group = d.group;
  info.origin_version = s.version();
  info.source.assign(f.source);
  info.destination.assign(f.destination);
  info.order = ++submit_order_ == 0 ? ++submit_order_ : submit_order_;
  if (multi != 0) {
    info.multi = true;
    info.multi_dest = multi_dest;
    info.gateway_id = multi;
  }

  // Parts of one long message stick to the upstream of the first part seen.
  std::optional<routing::ConcatKey> ckey;
  uint8_t part = 0;
  if ((f.esm_class & 0x40) != 0 && !f.short_message.empty()) {
    if (auto ci = codec::concatInfo(f.short_message)) {
      ckey = routing::ConcatKey::make(cid.value, d.destination.view(), ci->ref, ci->total);
      part = ci->seq;
    }
  } else if (auto ref = pdu.tlvs.integer(codec::tag::sar_msg_ref_num)) {
    auto total = pdu.tlvs.integer(codec::tag::sar_total_segments);
    auto seqn = pdu.tlvs.integer(codec::tag::sar_segment_seqnum);
    if (total && seqn) {
      ckey = routing::ConcatKey::make(cid.value, d.destination.view(), static_cast<uint16_t>(*ref),
                                      static_cast<uint8_t>(*total));
      part = static_cast<uint8_t>(*seqn);
    }
  }

  const bool any_bound = refreshMemberStatus(d.group, t);
  // Stickiness remembers runtime ids (stable over reloads), not config indices.
  Upstream* chosen = nullptr;
  const auto tp = routing::ConcatStickiness::TimePoint(std::chrono::milliseconds(t));
  if (ckey) {
    if (auto prev = sticky_.find(*ckey, part, tp)) {
      Upstream* u = upstream(UpstreamRt(*prev));
      if (u != nullptr && u->available() && (!groupQueueFull(d.group) || u->canSendNow(t))) {
        chosen = u;
      }
    }
  }
  if (chosen == nullptr) {
    if (auto pick = selector_.pick(d.group, member_status_)) {
      chosen = upstream(upstream_rt_[*pick]);
      if (ckey) {
        sticky_.remember(*ckey, part, chosen->id().value, tp);
      }
    }
  }
  if (chosen == nullptr) {
    return any_bound ? refuse(cfg().routing.queue_full_status, R::QueueFull)
                     : refuse(gwstatus::kNoUpstream, R::NoUpstream);
  }
  Upstream& up = *chosen;
  const config::Group& group = cfg().groups[d.group];
  if (group.max_attempts > 1 && multi == 0 &&
      (pdu.command_id == CommandId::submit_sm || pdu.command_id == CommandId::data_sm)) {
    // The group may try another member: keep what a retry needs (only then: a copy).
    Retry r;
    r.raw.append(raw);
    r.destination.assign(d.destination.view());
    r.registered_delivery = f.registered_delivery;
    r.ckey = ckey;
    r.part = part;
    r.tried.push_back(up.configIndex());
    r.deadline_ms = t + ms(cfg().timers.response);
    info.retry = ++next_retry_ == 0 ? ++next_retry_ : next_retry_;
    retries_.insert_or_assign(info.retry, std::move(r));
  }
  if (!forwardTo(up, cust, pdu, raw, d.destination.view(), f.registered_delivery, info, t)) {
    retries_.erase(info.retry);
    return refuse(cfg().routing.queue_full_status, R::QueueFull);
  }
  return MtResult::forwarded();
}

uint8_t Gateway::congestionState(uint32_t group) const {
  if (group >= group_queued_.size()) {
    return 0;
  }
  const uint64_t cap = std::max<uint32_t>(1, cfg().limits.max_queue_per_group);
  return static_cast<uint8_t>(std::min<uint64_t>(100, uint64_t{group_queued_[group]} * 100 / cap));
}

// (Inlined into its callers: it was part of them, and a call per message costs.)
[[gnu::always_inline]] inline bool Gateway::refreshMemberStatus(uint32_t group, uint64_t t) {
  // Member states for the selector, indexed by config upstream id.
  member_status_.resize(upstream_rt_.size());
  bool any_bound = false;
  for (size_t i = 0; i < upstream_rt_.size(); ++i) {
    Upstream& u = *upstream(upstream_rt_[i]);
    bool bound = u.available();
    any_bound = any_bound || bound;
    member_status_[i].available = bound && (!groupQueueFull(group) || u.canSendNow(t));
    member_status_[i].outstanding = static_cast<uint32_t>(u.outstanding());
  }
  return any_bound;
}

// (Inlined into its callers: it was part of them, and a call per message costs.)
[[gnu::always_inline]] inline bool Gateway::forwardTo(Upstream& up, const config::Customer& cust,
                                                      const codec::Pdu& pdu, codec::Bytes raw,
                                                      std::string_view destination,
                                                      uint8_t registered_delivery,
                                                      const UpInFlight& info, uint64_t t) {
  // Forward the bytes received, re-encoding only when this upstream needs something changed.
  codec::Bytes out = raw;
  const config::AddressRewrite& rw = up.cfg().rewrite;
  const bool rewrite = rw.source_ton || rw.source_npi || rw.destination_ton || rw.destination_npi ||
                       !rw.source_override.empty() ||
                       rw.destination_format != config::DestinationFormat::AsIs;
  const uint8_t carrier_rd = carrierRegisteredDelivery(cust.receipts, registered_delivery);
  const bool rd_change = carrier_rd != registered_delivery;
  if (rewrite || rd_change || codec::tlvVersionNeeded(pdu.tlvs) > up.cfg().interface_version) {
    codec::Pdu copy = pdu;
    if (rd_change) {
      if (auto* b = copy.tryAs<codec::SmBody>()) {
        b->registered_delivery = carrier_rd;
      } else if (auto* b2 = copy.tryAs<codec::DataSmBody>()) {
        b2->registered_delivery = carrier_rd;  // (submit_multi arrives here as submit_sm parts)
      }
    }
    if (rewrite) {
      std::string_view src_override = rw.source_override;
      text_scratch_.clear();
      if (rw.destination_format != config::DestinationFormat::AsIs) {
        if (rw.destination_format == config::DestinationFormat::PlusInternational) {
          text_scratch_.push_back('+');  // (operator= trips a GCC 12 -Wrestrict false positive)
        }
        text_scratch_ += destination;
      }
      auto apply = [&](auto& b) {
        if (!src_override.empty()) {
          b.source_addr = src_override;
        }
        if (rw.source_ton) {
          b.source_addr_ton = *rw.source_ton;
        }
        if (rw.source_npi) {
          b.source_addr_npi = *rw.source_npi;
        }
        if constexpr (requires { b.destination_addr; }) {
          if (rw.destination_format != config::DestinationFormat::AsIs) {
            b.destination_addr = text_scratch_;
            b.dest_addr_ton = 1;
            b.dest_addr_npi = 1;
          }
          if (rw.destination_ton) {
            b.dest_addr_ton = *rw.destination_ton;
          }
          if (rw.destination_npi) {
            b.dest_addr_npi = *rw.destination_npi;
          }
        }
      };
      if (auto* b = copy.tryAs<codec::SmBody>()) {
        apply(*b);
      } else if (auto* b2 = copy.tryAs<codec::DataSmBody>()) {
        apply(*b2);
      } else if (auto* b3 = copy.tryAs<codec::SubmitMultiBody>()) {
        apply(*b3);
      } else if (auto* b4 = copy.tryAs<codec::BroadcastSmBody>()) {
        apply(*b4);
      }
    }
    scratch_.clear();
    codec::encode(copy, scratch_, {up.cfg().interface_version});
    out = scratch_.view();
  }
  return up.submit(out, info, t);
}

bool Gateway::retryAfter(std::string_view from, const UpInFlight& info, uint32_t status,
                         bool unsent) {
  auto it = retries_.find(info.retry);
  if (it == retries_.end()) {
    return false;
  }
  Retry& r = it->second;
  const uint64_t t = now();
  const config::Group* g = info.group < cfg().groups.size() ? &cfg().groups[info.group] : nullptr;
  const config::Customer* cust = customerCfg(info.customer);
  // Unsent (its upstream lost every bind while it waited): the carrier never saw it.
  const bool again =
      status != st::ESME_ROK && g != nullptr && cust != nullptr && r.attempts < g->max_attempts &&
      (unsent || std::find(g->retry_statuses.begin(), g->retry_statuses.end(), status) !=
                     g->retry_statuses.end()) &&
      t < r.deadline_ms && session(info.origin) != nullptr && !shutting_down_;
  if (!again) {
    retries_.erase(it);
    return false;
  }
  refreshMemberStatus(info.group, t);
  std::vector<config::UpstreamId> order = selector_.fallbacks(info.group, member_status_, r.tried);
  if (order.empty() && !unsent && (status == st::ESME_RTHROTTLED || status == st::ESME_RMSGQFUL)) {
    // Every member was tried and this one only said "later": the best one again (a throttling
    // bind waits out its pause first; the request waits in that upstream's queue meanwhile).
    order = selector_.fallbacks(info.group, member_status_, {});
  }
  if (order.empty() || order.front() >= upstream_rt_.size()) {
    retries_.erase(it);
    return false;
  }
  Upstream& up = *upstream(upstream_rt_[order.front()]);
  if (codec::decode(r.raw.view(), retry_pdu_)) {
    retries_.erase(it);  // (it decoded when it came in)
    return false;
  }
  ++r.attempts;
  r.tried.push_back(order.front());
  if (r.ckey) {
    // The parts still to come follow this one to the member that takes it.
    sticky_.remember(*r.ckey, r.part, up.id().value,
                     routing::ConcatStickiness::TimePoint(std::chrono::milliseconds(t)));
  }
  UpInFlight next = info;
  if (!forwardTo(up, *cust, retry_pdu_, r.raw.view(), r.destination, r.registered_delivery, next,
                 t)) {
    retries_.erase(it);
    return false;  // the member's queue is full: the customer gets the carrier's answer
  }
  rt_.metrics().retry(from, unsent ? std::string("unsent") : statusLabel(status)).inc();
  uint64_t suppressed = 0;
  if (rt_.flowLogBudget().allow(t, suppressed)) {
    log::info("retry", "from", from, "status", codec::statusName(status), "to", up.name(),
              "attempt", r.attempts, "suppressed", suppressed);
  }
  return true;
}

MtResult Gateway::onById(DownstreamSession& s, const codec::Pdu& pdu) {
  const config::Customer* custp = customerCfg(s.customer());
  if (custp == nullptr) {
    return MtResult::refused(gwstatus::kShuttingDown);
  }
  const config::Customer& cust = *custp;
  codec::Pdu copy = pdu;
  std::string_view* mid = requestMessageId(copy);
  if (mid == nullptr || mid->empty()) {
    // cancel_sm by source/destination only would have to reach every carrier: not offered.
    return MtResult::refused(pdu.command_id == CommandId::cancel_sm ? st::ESME_RCANCELFAIL
                                                                    : st::ESME_RINVMSGID);
  }
  auto gid = parseMessageId(*mid, cust.message_id_format);
  store::MappingView m;
  if (!gid) {
    return MtResult::refused(st::ESME_RINVMSGID);
  }
  if (!ids_.mappings().byGatewayId(*gid, m)) {
    // Not in memory: an older message may be in the durable store.
    return store_ ? onByIdStored(s, pdu, *gid) : MtResult::refused(st::ESME_RINVMSGID);
  }
  MtResult r;
  forwardById(s, pdu, *gid, m, r);
  return r;
}

void Gateway::forwardById(DownstreamSession& s, const codec::Pdu& pdu, uint64_t gateway_id,
                          const store::MappingView& m, MtResult& result) {
  // Another customer's message is as unknown as a message that never existed.
  if (CustomerRt(m.customer) != s.customer()) {
    result = MtResult::refused(st::ESME_RINVMSGID);
    return;
  }
  Upstream* up = upstream(UpstreamRt(m.upstream));
  if (up == nullptr || !up->available()) {
    result = MtResult::refused(gwstatus::kNoUpstream);
    return;
  }
  codec::Pdu copy = pdu;
  *requestMessageId(copy) = m.upstream_id;
  scratch_.clear();
  codec::encode(copy, scratch_, {up->cfg().interface_version});
  UpInFlight info;
  info.kind = UpInFlight::Kind::Forward;
  info.command = pdu.command_id;
  info.origin = s.ref();
  info.origin_seq = pdu.sequence_number;
  info.customer = s.customer();
  info.gateway_id = gateway_id;
  info.started_ns = loop_.cachedNs();
  info.origin_version = s.version();
  result = up->submit(scratch_.view(), info, now())
               ? MtResult::forwarded()
               : MtResult::refused(cfg().routing.queue_full_status);
}

void Gateway::onUpstreamResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp,
                                 codec::Bytes raw) {
  if (info.forward) [[unlikely]] {
    forwardOutcome(info, resp.command_status, &resp, b.upstreamId());
    return;
  }
  if (info.retry != 0 && retryAfter(b.upstreamName(), info, resp.command_status, false)) {
    return;  // another attempt: the customer hears from that one
  }
  if (info.multi) {
    onMultiPartResponse(b, info, resp);
    return;
  }
  DownstreamSession* s = session(info.origin);
  const CommandId resp_id = codec::responseFor(info.command);
  const std::string_view* mid = responseMessageId(resp);
  char idbuf[72];
  std::string_view new_id;  // what the customer sees in message_id
  // Receipts that overtook this response are released after it is written, so the customer
  // learns the id before it sees a receipt for it.
  std::optional<store::MappingView> release;
  const config::Customer* custp = customerCfg(info.customer);
  const config::MessageIdFormat id_format =
      custp != nullptr ? custp->message_id_format : config::MessageIdFormat::Hex;
  const uint32_t id_length = custp != nullptr ? custp->message_id_length : 16;

  if (isSubmission(info.command)) {
    if (resp.command_status == st::ESME_ROK && mid != nullptr && !mid->empty()) {
      const UpstreamRt up_id = b.upstreamId();
      codec::MessageIdKey key;
      ids_.normalise(up_id, *mid, false, key);
      const store::MappingView stored = ids_.record(
          mappingFor(info, minter_.next(wallClockMs()), up_id, *mid, key.view(), now()));
      new_id = formatMessageId(stored.gateway_id, id_format, id_length, idbuf);
      release = stored;
    }  // else: a failed submission has no id (new_id stays empty)
  } else if (mid != nullptr) {
    // query_sm_resp and friends: give the customer its own id back.
    new_id = formatMessageId(info.gateway_id, id_format, id_length, idbuf);
  }
  if (s == nullptr) {
    if (b.metrics() != nullptr) {
      b.metrics()->orphans->inc();
    }
    if (release) {
      if (store_) {
        persistMapping(*release, true);  // its receipts still come back (to a new session)
      }
      ids_.release(*release);
    }
    return;
  }
  const uint8_t version = s->version();
  auto write = [&](codec::Buffer& out) {
    if (resp.command_id == resp_id && codec::tlvVersionNeeded(resp.tlvs) <= version) {
      // The carrier's response with our id and the customer's sequence number: spliced, not
      // re-encoded (its TLVs pass through untouched).
      codec::Splicer sp(raw);
      if (mid != nullptr && !resp.body_omitted) {
        sp.text(*mid, new_id);
      }
      if (version >= 0x50 && !resp.body_omitted) {
        // A v5.0 customer learns the gateway's load, not the carrier's (its rate is ours to
        // pace): how full the queues of the group it was routed by are.
        const uint8_t cs = congestionState(info.group);
        if (const codec::Tlv* t = resp.tlvs.find(codec::tag::congestion_state)) {
          congestion_octet_ = cs;
          sp.tlvValue(*t, codec::Bytes(&congestion_octet_, 1));
        } else {
          sp.appendU8Tlv(codec::tag::congestion_state, cs);
        }
      }
      sp.write(out, info.origin_seq);
    } else {
      // A v3.3/v3.4 customer must not see TLVs of a later version: re-encode for it.
      codec::Pdu copy = resp;
      copy.command_id = resp_id;
      copy.sequence_number = info.origin_seq;
      if (std::string_view* omid = responseMessageId(copy)) {
        *omid = new_id;
      }
      codec::encode(copy, out, {version});
    }
  };
  if (release && store_) {
    // The id is the customer's once its mapping is durable: answered from writesDone().
    parkAnswer(persistMapping(*release, true), info, release->gateway_id, write);
    ids_.release(*release);  // receipts held for it wait again, for the answer (holdForParked)
    return;
  }
  s->answer(write);
  if (release) {
    ids_.release(*release);  // after the response: the customer sees the id before its receipt
  }
  if (auto* m = customerMetrics(info.customer)) {
    rt_.metrics().customerResponse(*m, resp_id, resp.command_status);
    if (isSubmission(info.command)) {
      m->latency->observeNs(loop_.cachedNs() - info.started_ns);
    }
  }
}

void Gateway::onUpstreamFailed(const UpInFlight& info, uint32_t status) {
  if (info.forward) [[unlikely]] {
    forwardOutcome(info, status, nullptr, UpstreamRt{});  // may have arrived: sent again
    return;
  }
  if (info.retry != 0) {
    // Timeouts and lost binds may have reached the carrier: never retried (a duplicate).
    retries_.erase(info.retry);
  }
  if (info.multi) {
    multiPartDone(info.gateway_id, info.multi_dest, status);  // timeout, bind lost, queue expired
    return;
  }
  DownstreamSession* s = session(info.origin);
  if (s == nullptr) {
    return;
  }
  s->answerStatus(info.command, info.origin_seq, status);
}

void Gateway::onQueuedFailed(Upstream& from, const UpInFlight& info, QueueFailure why) {
  if (info.forward) [[unlikely]] {
    forwardOutcome(info, gwstatus::kNoUpstream, nullptr, UpstreamRt{});  // never sent: later
    return;
  }
  if (why == QueueFailure::NoBind && info.retry != 0 &&
      retryAfter(from.name(), info, gwstatus::kNoUpstream, true)) {
    return;  // never sent: another member may take it
  }
  uint32_t status = gwstatus::kShuttingDown;
  if (why == QueueFailure::Expired) {
    status = cfg().routing.queue_timeout_status;
    if (isSubmission(info.command)) {
      refuseMetric(info.customer, metrics::RefusalReason::QueueTimeout);
    }
  } else if (why == QueueFailure::NoBind) {
    status = gwstatus::kNoUpstream;
    if (isSubmission(info.command)) {
      refuseMetric(info.customer, metrics::RefusalReason::NoUpstream);
    }
  }
  onUpstreamFailed(info, status);
}

void Gateway::releaseHeld(uint64_t t) {
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < customers_.size(); ++i) {
    CustomerState& cs = customers_[i];
    while (!cs.held.empty()) {
      HeldSubmit& h = cs.held.front();
      DownstreamSession* s = session(h.ref);
      const config::Customer* cust = customerCfg(CustomerRt(static_cast<uint32_t>(i)));
      const bool gone = s == nullptr || cust == nullptr || shutting_down_;
      if (!gone && !cs.rate.tryTakeMilli(t, h.cost)) {
        if (t < h.deadline_ms) {
          next = std::min(next, t + std::max<uint64_t>(1, cs.rate.msUntilMilli(t, h.cost)));
          break;  // its token is not there yet; the ones behind it wait too
        }
      }
      HeldSubmit held = std::move(h);
      cs.held.pop_front();
      cs.held_cost -= held.cost;
      if (s == nullptr) {
        continue;  // the session went away while it waited: nobody to answer
      }
      if (gone || t >= held.deadline_ms) {
        refuseMetric(CustomerRt(static_cast<uint32_t>(i)), metrics::RefusalReason::Rate);
        s->answerStatus(held.command, held.seq, gwstatus::kRateLimited);
        continue;
      }
      if (codec::decode(held.raw.view(), held_pdu_)) {
        s->answerStatus(held.command, held.seq, st::ESME_RSYSERR);  // (it decoded on arrival)
        continue;
      }
      const SubmitFields f = submitFields(held_pdu_);
      MtResult r = admitted(*s, *cust, held_pdu_, held.raw.view(), f, t);
      if (!r.pending) {
        s->answerStatus(held.command, held.seq, r.status);
      }
    }
  }
  if (next != UINT64_MAX) {
    shaping_timer_->start(next - t);
  }
}

void Gateway::armShaping(uint64_t t) {
  if (shaping_timer_ == nullptr) {
    shaping_timer_ = std::make_unique<net::Timer>(loop_, [this] {
      loop_.refreshNs();
      releaseHeld(now());
    });
  }
  releaseHeld(t);
}

void Gateway::onUpstreamReady(Upstream& u) {
  u.drain(now());
}

// A store_and_forward message to a member of its group (gateway/forward.cc): here, beside the
// inlined member pick and forwardTo of the transparent path.
Gateway::SendResult Gateway::sendForwarded(uint64_t gateway_id, Forwarded& m, uint64_t t) {
  const config::Config& c = cfg();
  uint32_t group = config::kNoId;
  for (uint32_t g = 0; g < c.groups.size(); ++g) {
    group = c.groups[g].name == m.group ? g : group;
  }
  const config::Customer* cust = customerCfg(m.customer);
  codec::Pdu p;
  if (group == config::kNoId || cust == nullptr) {
    m.next_ms = t + kForwardPauseMs;  // removed by a reload: waits (until delivery_ttl)
    return SendResult::Later;
  }
  if (codec::decode(m.pdu.view(), p)) {
    m.next_ms = t + kForwardPauseMs;
    forwardFinal(gateway_id, m, codec::MessageState::Rejected, st::ESME_RSYSERR);
    return SendResult::Later;  // (gone: its schedule entry is skipped)
  }
  refreshMemberStatus(group, t);
  auto pick = selector_.pick(group, member_status_);
  if (!pick) {
    m.next_ms = t + kForwardPauseMs;
    return SendResult::GroupBlocked;
  }
  Upstream& up = *upstream(upstream_rt_[*pick]);
  UpInFlight info;
  info.kind = UpInFlight::Kind::Forward;
  info.command = p.command_id;
  info.customer = m.customer;
  info.started_ns = loop_.cachedNs();
  info.group = group;
  info.gateway_id = gateway_id;
  info.forward = true;
  info.order = ++submit_order_ == 0 ? ++submit_order_ : submit_order_;
  const SubmitFields f = submitFields(p);
  info.registered_delivery = f.registered_delivery;
  info.source.assign(f.source);
  info.destination.assign(f.destination);
  if (!forwardTo(up, *cust, p, m.pdu.view(), m.destination, f.registered_delivery, info, t)) {
    m.next_ms = t + kForwardPauseMs;  // its queue is full: later
    return SendResult::GroupBlocked;
  }
  m.in_flight = true;
  ++m.attempts;
  forwardCount(m.group, ForwardResult::Sent);
  return SendResult::Sent;
}

}  // namespace smppgw
