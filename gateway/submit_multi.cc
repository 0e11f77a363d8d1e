// submit_multi: one submit_sm per SME destination, one submit_multi_resp for the customer.

#include "gateway/gateway.h"

#include "codec/encode.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"

namespace smppgw {

// ---------------------------------------------------------------------------------------------
// submit_multi: one submit_sm per SME destination, one submit_multi_resp for the customer
//
// Each destination is routed like a submit_sm of its own (reject actions, the customer's default
// route, group selection, concatenation stickiness) and sent upstream as a submit_sm: a carrier
// that took a submit_multi would give one id to all its destinations, and their receipts could
// then only be told apart by addresses the carrier may rewrite. Every part's mapping carries the
// one gateway id the customer gets and that destination's own addresses.

MtResult Gateway::onSubmitMulti(DownstreamSession& s, const config::Customer& cust,
                                const codec::Pdu& pdu, uint64_t t) {
  const auto& mb = pdu.as<codec::SubmitMultiBody>();
  const uint64_t gid = minter_.next(wallClockMs());
  MultiSubmit& mu = multis_[gid];
  mu.gateway_id = gid;
  mu.origin = s.ref();
  mu.origin_seq = pdu.sequence_number;
  mu.customer = s.customer();
  mu.started_ns = loop_.cachedNs();
  mu.outstanding = 1;  // held while the parts go out, so that no refusal finishes it early
  mu.dests.resize(mb.dest_addresses.size());

  codec::Pdu part(CommandId::submit_sm, pdu.sequence_number);
  auto& sm = part.as<codec::SmBody>();
  sm.service_type = mb.service_type;
  sm.source_addr_ton = mb.source_addr_ton;
  sm.source_addr_npi = mb.source_addr_npi;
  sm.source_addr = mb.source_addr;
  sm.esm_class = mb.esm_class;
  sm.protocol_id = mb.protocol_id;
  sm.priority_flag = mb.priority_flag;
  sm.schedule_delivery_time = mb.schedule_delivery_time;
  sm.validity_period = mb.validity_period;
  sm.registered_delivery = mb.registered_delivery;
  sm.replace_if_present_flag = mb.replace_if_present_flag;
  sm.data_coding = mb.data_coding;
  sm.sm_default_msg_id = mb.sm_default_msg_id;
  sm.short_message = mb.short_message;
  part.tlvs = pdu.tlvs;  // encoded for each carrier's version by routeSubmission
  codec::Buffer raw;
  for (size_t i = 0; i < mb.dest_addresses.size(); ++i) {
    const codec::DestAddress& da = mb.dest_addresses[i];
    MultiSubmit::Dest& dest = mu.dests[i];
    dest.ton = da.dest_addr_ton;
    dest.npi = da.dest_addr_npi;
    dest.address.assign(da.address);
    if (da.dest_flag != 1) {
      // No upstream takes distribution lists: the list is refused, the SME addresses go on.
      dest.status = st::ESME_RCNTSUBDL;
      continue;
    }
    sm.dest_addr_ton = da.dest_addr_ton;
    sm.dest_addr_npi = da.dest_addr_npi;
    sm.destination_addr = da.address;
    raw.clear();
    codec::encode(part, raw);
    ++mu.outstanding;
    routeSubmission(s, cust, part, raw.view(), submitFields(part), t, gid, static_cast<uint8_t>(i));
  }
  multiPartDone(gid, 0, st::ESME_ROK);  // (may answer the customer now: every part refused)
  return MtResult::forwarded();
}

void Gateway::onMultiPartResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp) {
  const std::string_view* mid = responseMessageId(resp);
  if (resp.command_status != st::ESME_ROK || resp.command_id != CommandId::submit_sm_resp) {
    multiPartDone(info.gateway_id, info.multi_dest,
                  resp.command_status != st::ESME_ROK ? resp.command_status : st::ESME_RSYSERR);
    return;
  }
  auto it = multis_.find(info.gateway_id);
  if (it != multis_.end()) {
    ++it->second.accepted;
  }
  if (mid != nullptr && !mid->empty()) {
    // Stored now, so a receipt that follows at once is matched (and held by holdForMulti until
    // the customer has its submit_multi_resp).
    const UpstreamRt up_id = b.upstreamId();
    codec::MessageIdKey key;
    ids_.normalise(up_id, *mid, false, key);
    const store::MappingView stored =
        ids_.record(mappingFor(info, info.gateway_id, up_id, *mid, key.view(), now()));
    if (store_) {
      const uint64_t ticket = persistMapping(stored, false);  // the submit_multi_resp waits for it
      if (auto mit = multis_.find(info.gateway_id); mit != multis_.end()) {
        mit->second.part_tickets.push_back(ticket);
      }
    }
    ids_.release(stored);
  }
  multiPartDone(info.gateway_id, info.multi_dest, st::ESME_ROK);
}

void Gateway::multiPartDone(uint64_t multi, uint8_t dest, uint32_t status) {
  auto it = multis_.find(multi);
  if (it == multis_.end()) {
    return;
  }
  MultiSubmit& mu = it->second;
  if (status != st::ESME_ROK && dest < mu.dests.size()) {
    mu.dests[dest].status = status;
  }
  if (--mu.outstanding > 0) {
    return;
  }
  if (store_) {
    parkMulti(multi);  // answered once its parts' mappings are durable (writesDone)
    return;
  }
  MultiSubmit done = std::move(mu);
  multis_.erase(it);
  finishMulti(std::move(done));
}

void Gateway::finishMulti(MultiSubmit done) {
  const uint64_t multi = done.gateway_id;
  if (done.store_failed) {
    // A part's mapping was not stored: no destination may count as accepted.
    done.accepted = 0;
    for (auto& d : done.dests) {
      d.status = codec::status::ESME_RSYSERR;
    }
  }

  // Every refused destination, with its status. If none was accepted the PDU fails as a whole
  // (the common status, or ESME_RSUBMITFAIL when they differ) and the list still says why.
  codec::Pdu resp(CommandId::submit_multi_resp, done.origin_seq);
  auto& body = resp.as<codec::SubmitMultiRespBody>();
  uint32_t common = 0;
  for (const MultiSubmit::Dest& d : done.dests) {
    if (d.status != st::ESME_ROK) {
      body.unsuccess_smes.push_back({d.ton, d.npi, d.address, d.status});
      common = common == 0 || common == d.status ? d.status : st::ESME_RSUBMITFAIL;
    }
  }
  const config::Customer* custp = customerCfg(done.customer);
  char idbuf[72];
  if (done.accepted > 0) {
    body.message_id = formatMessageId(
        multi, custp != nullptr ? custp->message_id_format : config::MessageIdFormat::Hex,
        custp != nullptr ? custp->message_id_length : 16, idbuf);
  } else {
    resp.command_status = common != 0 ? common : st::ESME_RSUBMITFAIL;
  }
  // The customer's session may have gone: then only the receipts below remain to handle.
  if (DownstreamSession* s = session(done.origin)) {
    const uint8_t version = s->version();
    s->answer([&](codec::Buffer& out) { codec::encode(resp, out, {version}); });
    if (auto* m = customerMetrics(done.customer)) {
      rt_.metrics().customerResponse(*m, CommandId::submit_multi_resp, resp.command_status);
      m->latency->observeNs(loop_.cachedNs() - done.started_ns);
    }
  }
  // The receipts that came before the response, in their order.
  for (HeldReceipt& h : done.receipts) {
    codec::Pdu p;
    store::MappingView m;
    if (!codec::decode(h.pdu.view(), p) && ids_.mappings().byUpstream(h.upstream.value, h.key, m)) {
      deliverReceipt(m, p, h.pdu.view(), h.from, h.upstream_seq);
    } else {  // its mapping was evicted meanwhile
      ids_.unmatched(h.upstream, h.key, h.from, h.command, h.upstream_seq,
                     metrics::UnmatchedReason::HeldExpired);
    }
  }
}

bool Gateway::holdForMulti(const store::MappingView& m, CommandId command, codec::Bytes raw,
                           BindRef from, uint32_t upstream_seq) {
  auto it = multis_.find(m.gateway_id);
  if (it == multis_.end()) {
    return false;
  }
  it->second.receipts.push_back(heldReceipt(m, command, raw, from, upstream_seq));
  return true;
}

}  // namespace smppgw
