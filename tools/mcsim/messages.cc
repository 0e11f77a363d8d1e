#include "tools/mcsim/messages.h"

#include <cstdio>

#include "codec/udh.h"

#include <algorithm>
#include <cstring>

#include "codec/charset.h"
#include "net/loop.h"
#include "tools/mcsim/book.h"
#include "tools/mcsim/delivery.h"
#include "tools/mcsim/session.h"
#include "tools/mcsim/summary.h"

namespace smppgw::mcsim {

using codec::CommandId;

namespace {

// First (up to) 20 characters of a message as printable ASCII, for the receipt's text: field.
uint8_t extractText(uint8_t esm_class, uint8_t data_coding, codec::Bytes sm, char* out) {
  if ((esm_class & 0x40) != 0 && !sm.empty()) {
    const size_t udh = static_cast<size_t>(sm[0]) + 1;
    sm = udh <= sm.size() ? sm.subspan(udh) : codec::Bytes{};
  }
  uint8_t n = 0;
  const auto printable = [](uint32_t c) { return c >= 0x20 && c < 0x7F; };
  if (codec::textCodingOf(data_coding) == codec::TextCoding::Ucs2) {
    for (size_t i = 0; i + 1 < sm.size() && n < 20; i += 2) {
      const uint32_t c = (uint32_t{sm[i]} << 8) | sm[i + 1];
      out[n++] = printable(c) ? static_cast<char>(c) : '?';
    }
    return n;
  }
  for (size_t i = 0; i < sm.size() && n < 20; ++i) {
    out[n++] = printable(sm[i]) ? static_cast<char>(sm[i]) : '?';
  }
  return n;
}

uint8_t copyAddr(std::string_view a, char* out) {
  const size_t n = std::min<size_t>(a.size(), 20);
  std::memcpy(out, a.data(), n);
  return static_cast<uint8_t>(n);
}

}  // namespace

Messages::Messages(net::Loop& loop, const Config& cfg, tools::Rng& rng, Counters& counters,
                   MessageBook& book, Deliveries& deliveries, SessionTable& sessions)
    : cfg_(cfg),
      rng_(rng),
      counters_(counters),
      book_(book),
      deliveries_(deliveries),
      sessions_(sessions),
      scheduler_(loop, [this](Job& job) { runJob(job); }) {
  double sum = 0;
  for (size_t i = 0; i < cfg_.state_weights.size(); ++i) {
    sum += cfg_.state_weights[i];
    cumulative_weights_[i] = sum;
  }
  if (sum <= 0) {
    cumulative_weights_.fill(1.0);  // all weight on DELIVERED below
    cumulative_weights_[0] = cumulative_weights_[1] = 0;
    sum = 1;
  }
  for (double& w : cumulative_weights_) {
    w /= sum;
  }
}

uint8_t Messages::pickFinalState() {
  const double u = rng_.uniform();
  for (size_t i = 0; i < cumulative_weights_.size(); ++i) {
    if (u < cumulative_weights_[i]) {
      return static_cast<uint8_t>(i);
    }
  }
  return 2;
}

void Messages::trace(const codec::Pdu& pdu, uint32_t status) {
  std::string_view dst;
  std::string part = "-";
  if (const auto* b = pdu.tryAs<codec::SmBody>()) {
    dst = b->destination_addr;
    if ((b->esm_class & 0x40) != 0) {
      if (auto ci = codec::concatInfo(b->short_message)) {
        part = std::to_string(ci->ref) + ":" + std::to_string(ci->seq) + "/" +
               std::to_string(ci->total);
      }
    }
  } else if (const auto* d = pdu.tryAs<codec::DataSmBody>()) {
    dst = d->destination_addr;
  }
  std::fprintf(stderr, "submit dst=%.*s part=%s status=0x%08X\n", static_cast<int>(dst.size()),
               dst.data(), part.c_str(), status);
}

bool Messages::receiptWanted(uint8_t rd, uint8_t final_state) const {
  switch (rd & 0x03) {
    case 1:
      return true;
    case 2:
      return final_state != 2;  // on failure only
    case 3:
      return final_state == 2;  // on success only (v5.0)
    default:
      return false;
  }
}

void Messages::submit(Session& s, const codec::Pdu& pdu) {
  const CommandId resp = codec::responseFor(pdu.command_id);
  const uint32_t seq = pdu.sequence_number;
  const uint64_t now_ns = net::Loop::hrtimeNs();
  uint64_t lat_us = cfg_.latency.sampleUs(rng_);
  if (cfg_.stall_for_ms != 0 && !stall_started_ && counters_.accepted >= cfg_.stall_after) {
    stall_started_ = true;
    stall_until_ns_ = now_ns + cfg_.stall_for_ms * 1'000'000ull;
  }
  if (now_ns < stall_until_ns_) {
    lat_us = std::max(lat_us, (stall_until_ns_ - now_ns) / 1000);  // silent until then
  }

  uint32_t st = 0;
  const double u = rng_.uniform();
  bool over_limit = false;
  if (cfg_.tps_per_bind != 0) {
    const double n = cfg_.tps_per_bind;
    s.tps_tokens =
        s.tps_tokens < 0
            ? n
            : std::min(n, s.tps_tokens + n * static_cast<double>(now_ns - s.tps_at_ns) / 1e9);
    s.tps_at_ns = now_ns;
    over_limit = s.tps_tokens < 1;
    if (!over_limit) {
      s.tps_tokens -= 1;
    }
  }
  if (cfg_.throttle_for_ms != 0 && !spell_started_ && cfg_.throttle_after != 0 &&
      counters_.accepted >= cfg_.throttle_after) {
    spell_started_ = true;
    spell_until_ns_ = now_ns + cfg_.throttle_for_ms * 1'000'000ull;
  }
  if (over_limit || now_ns < spell_until_ns_) {
    st = cfg_.throttle_status;
    ++counters_.throttled;
  } else if (u < cfg_.error_rate) {
    st = cfg_.error_status;
    ++counters_.errors;
  } else if (u < cfg_.error_rate + cfg_.throttle_rate) {
    st = cfg_.throttle_status;
    ++counters_.throttled;
  }
  if (cfg_.trace_submits) {
    trace(pdu, st);
  }
  if (st != 0) {
    if (lat_us == 0) {
      s.writeMessageResponse(static_cast<uint32_t>(resp), seq, st, false, 0);
    } else {
      Job j;
      j.kind = Job::Kind::Response;
      j.session_index = s.index;
      j.session_serial = s.serial;
      j.response_id = static_cast<uint32_t>(resp);
      j.seq = seq;
      j.status = st;
      scheduler_.schedule(now_ns + lat_us * 1000, std::move(j));
    }
    return;
  }

  const uint64_t id = book_.nextId();
  ++counters_.accepted;
  const uint8_t final_state = pickFinalState();
  const uint64_t rdelay_us = cfg_.receipt_first ? 0 : cfg_.receipt_delay.sampleUs(rng_);
  const uint64_t resp_ns = now_ns + lat_us * 1000;
  const uint64_t done_ns = resp_ns + rdelay_us * 1000 + 1;  // after the response, always
  MessageBook::Record& rec = book_.slot(id);
  rec = MessageBook::Record{};
  rec.id = id;
  rec.valid = true;
  rec.done_ns = done_ns;
  rec.submit_unix = book_.unixAt(now_ns);
  rec.done_unix = book_.unixAt(done_ns);
  rec.state = final_state;
  rec.err = final_state == 2 ? 0 : 1;

  // What the receipt(s) need from the request.
  uint8_t rd = 0;
  uint8_t esm = 0;
  uint8_t dc = 0;
  uint8_t src_ton = 0, src_npi = 0;
  std::string_view src;
  codec::Bytes sm;
  const codec::SubmitMultiBody* multi = nullptr;
  std::string_view dst;
  uint8_t dst_ton = 0, dst_npi = 0;
  if (const auto* b = pdu.tryAs<codec::SmBody>()) {
    rd = b->registered_delivery;
    esm = b->esm_class;
    dc = b->data_coding;
    src_ton = b->source_addr_ton;
    src_npi = b->source_addr_npi;
    src = b->source_addr;
    dst_ton = b->dest_addr_ton;
    dst_npi = b->dest_addr_npi;
    dst = b->destination_addr;
    sm = b->short_message;
  } else if (const auto* d = pdu.tryAs<codec::DataSmBody>()) {
    rd = d->registered_delivery;
    esm = d->esm_class;
    dc = d->data_coding;
    src_ton = d->source_addr_ton;
    src_npi = d->source_addr_npi;
    src = d->source_addr;
    dst_ton = d->dest_addr_ton;
    dst_npi = d->dest_addr_npi;
    dst = d->destination_addr;
  } else if ((multi = pdu.tryAs<codec::SubmitMultiBody>()) != nullptr) {
    rd = multi->registered_delivery;
    esm = multi->esm_class;
    dc = multi->data_coding;
    src_ton = multi->source_addr_ton;
    src_npi = multi->source_addr_npi;
    src = multi->source_addr;
    sm = multi->short_message;
  }
  if (sm.empty()) {
    if (auto payload = pdu.tlvs.bytes(codec::tag::message_payload)) {
      sm = *payload;
    }
  }
  const bool want = receiptWanted(rd, final_state);

  auto makeReceipt = [&](std::string_view to, uint8_t to_ton, uint8_t to_npi) {
    Delivery d;
    d.kind = Delivery::Kind::Receipt;
    // A receipt travels back: from the original destination to the original source.
    d.src_ton = to_ton;
    d.src_npi = to_npi;
    d.src_len = copyAddr(to, d.src);
    d.dst_ton = src_ton;
    d.dst_npi = src_npi;
    d.dst_len = copyAddr(src, d.dst);
    d.text_len = extractText(esm, dc, sm, d.text);
    d.state = final_state;
    d.err = rec.err;
    d.msg_id = id;
    d.submit_unix = rec.submit_unix;
    d.done_unix = rec.done_unix;
    return d;
  };

  if (multi == nullptr && want && cfg_.receipt_first) {
    Delivery d = makeReceipt(dst, dst_ton, dst_npi);
    if (lat_us == 0) {
      deliveries_.deliver(std::move(d), s.account, &s);
      s.writeMessageResponse(static_cast<uint32_t>(resp), seq, 0, true, id);
    } else {
      Job j;
      j.kind = Job::Kind::Response;
      j.receipt_before = true;
      j.has_id = true;
      j.session_index = s.index;
      j.session_serial = s.serial;
      j.response_id = static_cast<uint32_t>(resp);
      j.seq = seq;
      j.msg_id = id;
      j.account = s.account;
      j.delivery = d;
      scheduler_.schedule(resp_ns, std::move(j));
    }
    return;
  }

  if (lat_us == 0) {
    s.writeMessageResponse(static_cast<uint32_t>(resp), seq, 0, true, id);
  } else {
    Job j;
    j.kind = Job::Kind::Response;
    j.has_id = true;
    j.session_index = s.index;
    j.session_serial = s.serial;
    j.response_id = static_cast<uint32_t>(resp);
    j.seq = seq;
    j.msg_id = id;
    scheduler_.schedule(resp_ns, std::move(j));
  }
  if (!want) {
    return;
  }
  auto emit = [&](Delivery&& d) {
    if (lat_us == 0 && rdelay_us == 0) {
      deliveries_.deliver(std::move(d), s.account, &s);
      return;
    }
    Job j;
    j.kind = Job::Kind::Receipt;
    j.session_index = s.index;
    j.session_serial = s.serial;
    j.msg_id = id;
    j.account = s.account;
    j.delivery = d;
    scheduler_.schedule(done_ns, std::move(j));
  };
  if (multi != nullptr) {
    for (const codec::DestAddress& da : multi->dest_addresses) {
      if (da.dest_flag == 1) {
        emit(makeReceipt(da.address, da.dest_addr_ton, da.dest_addr_npi));
      }
    }
    return;
  }
  emit(makeReceipt(dst, dst_ton, dst_npi));
}

void Messages::runJob(Job& job) {
  Session* s = sessions_.find(job.session_index, job.session_serial);
  if (job.kind == Job::Kind::Response) {
    if (job.receipt_before) {
      deliveries_.deliver(std::move(job.delivery), job.account, s);
    }
    if (s == nullptr) {
      ++counters_.responses_dropped;
      return;
    }
    s->writeMessageResponse(job.response_id, job.seq, job.status, job.has_id, job.msg_id);
    return;
  }
  if (book_.cancelled(job.msg_id)) {
    ++counters_.receipts_cancelled;
    return;
  }
  deliveries_.deliver(std::move(job.delivery), job.account, s);
}

}  // namespace smppgw::mcsim
