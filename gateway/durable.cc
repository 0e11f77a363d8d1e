// The gateway's side of the durable store (store.type: embedded): mappings written when a carrier
// accepts a message and the customer's answer held until that write is durable; lookups of
// mappings that are not in memory (after a restart, or past store.max_mappings).
//
// Rules (docs/architecture.md, Durability):
// - a customer sees a gateway id only once its mapping is durable: the submit_sm_resp waits for
//   the batch it is in (one group commit), and so do receipts that match it meanwhile;
// - a batch the store refuses (disk full, I/O error): its submits are answered ESME_RSYSERR
//   instead, never an id that is not stored.

#include "gateway/gateway.h"

#include <algorithm>

#include "codec/decode.h"
#include "codec/encode.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"

namespace smppgw {

namespace st = codec::status;
using codec::CommandId;

namespace {
constexpr uint64_t kStoreExpiryMs = 10'000;  // an expiry pass (and disk size) every 10 s
constexpr uint64_t kParkedCompact = 1u << 20;

// A mapping from the store as the hot cache takes it: in memory for a full mapping_ttl from
// `now_ms` (on disk it keeps its age), under this process's ids for its customer and carrier.
store::MappingInput mappingInputOf(const store::StoredMapping& m, CustomerRt customer,
                                   uint32_t upstream, uint64_t now_ms) {
  store::MappingInput in;
  in.gateway_id = m.gateway_id;
  in.created_ms = now_ms;
  in.customer = customer.value;
  in.upstream = upstream;
  in.registered_delivery = m.registered_delivery;
  in.upstream_id = m.upstream_id;
  in.upstream_key = m.upstream_key;
  in.source_addr = m.source_addr;
  in.destination_addr = m.destination_addr;
  return in;
}
// How long a transparent submit's carrier-id entry waits to be written: most final receipts come
// sooner, and a mapping whose final receipt has been settled needs none (docs/architecture.md,
// "The carrier-id index").
constexpr uint64_t kIndexDelayMs = 10'000;
// At most this many entries a tick (a batch built on the loop: ~5 ms), so the mappings read back
// at a start are indexed over a few seconds, not in one stall.
constexpr size_t kIndexPerTick = 20'000;
// At most this many mappings wait for their entry (earlier than kIndexDelayMs above ~25,000
// submits/s): after a crash they are read back before the receipts that miss memory are
// answered, ~1.2 µs each, so this bounds that wait to ~0.3 s.
constexpr size_t kMaxUnindexed = 250'000;
// Read back in pages of this many (~3 ms of the loop each; the store hands over two at most).
constexpr size_t kReadBackPage = 2'000;
}  // namespace

bool Gateway::openStore() {
  const config::Store& c = cfg().store;
  if (c.type != config::StoreType::Embedded) {
    return true;
  }
  store_wake_ = std::make_unique<net::Async>(loop_, [this] { pollStore(); });
  store::StoreOptions o;
  o.path = c.path;
  o.sync = c.sync;
  o.min_free_bytes = c.min_free_bytes;
  o.batch_max = c.batch_max;
  o.batch_delay_ms = static_cast<uint32_t>(ms(c.batch_delay));
  o.journal_dir = c.journal;  // (with sync: what a crash left in it is written, then unused)
  net::Async* wake = store_wake_.get();
  o.wake = [wake] { wake->send(); };
  // Opening replays the store's log: at start, before anything listens (the one disk wait on the
  // loop thread, and nothing else is running yet).
  const auto t0 = std::chrono::steady_clock::now();
  std::string err;
  store_ = store::openEmbedded(o, err);
  if (!store_) {
    log::error("store_failed", "path", c.path, "reason", err);
    return false;
  }
  const store::OpenInfo& info = store_->openInfo();
  if (!info.journal_moved_from.empty()) {
    log::warn("store_journal_moved", "from", info.journal_moved_from, "to",
              c.journal.empty() ? std::string_view("none") : std::string_view(c.journal), "action",
              "what the last process left there was written first");
  }
  minter_.seed(std::max({info.max_gateway_id, info.max_delivery_id, info.max_queued_id}));
  // Mappings whose carrier-id entry the last process had not written yet (those of its last
  // ~10 s, or more after a failure): read back into memory, where their receipts find them, and
  // their entries written page by page. Read on the store's reader thread while the gateway
  // serves: a receipt that misses memory meanwhile is looked up on disk after the read-back and
  // finds its mapping in memory then.
  index_handled_ = info.index_mark;
  index_marked_ = info.index_mark;
  readBackUnindexed();
  outboxes_ = std::make_unique<Outboxes>(rt_, static_cast<OutboxHost&>(*this), *store_);
  uint64_t waiting = 0;
  for (const auto& [name, count] : info.outboxes) {
    waiting += count;
    auto it = customer_by_system_id_.find(name);
    if (it == customer_by_system_id_.end()) {
      // Kept until store.delivery_ttl: the customer may be configured again by then.
      log::warn("outbox_of_unknown_customer", "system_id", name, "deliveries", count);
      continue;
    }
    outboxes_->restore(it->second, count);
  }
  for (const auto& [group, count] : info.queues) {
    waiting += count;
    // Read back at start, up to the group's queue limit (new store_and_forward submits wait for
    // it: the limit holds); what is beyond it is read as the queue drains (forwardReadMore).
    readForwardQueue(group, true);
  }
  log::info(
      "store_opened", "type", "embedded", "path", c.path, "sync", c.sync ? "true" : "false",
      "newest_id", info.max_gateway_id, "outboxes", info.outboxes.size(), "waiting", waiting,
      "journal", info.journal.empty() ? std::string_view("none") : std::string_view(info.journal),
      "replayed", info.journal_replayed, "index_mark", info.index_mark, "ms",
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  return true;
}

uint64_t Gateway::persistMapping(const store::MappingView& m, bool defer_index) {
  const uint64_t ticket = store_->putMapping(recordFor(m), !defer_index);
  if (defer_index) {
    index_pending_.push_back(m.gateway_id);
  }
  storeWritten();
  return ticket;
}

store::MappingRecord Gateway::recordFor(const store::MappingView& m) const {
  store::MappingRecord r;
  r.gateway_id = m.gateway_id;
  r.created_ms = wallClockMs();  // ages on disk outlive this process's clock
  r.registered_delivery = m.registered_delivery;
  r.customer = m.customer < customers_.size() ? std::string_view(customers_[m.customer].system_id)
                                              : std::string_view();
  r.upstream = upstreamName(UpstreamRt(m.upstream));
  r.upstream_id = m.upstream_id;
  r.upstream_key = m.upstream_key;
  r.source_addr = m.source_addr;
  r.destination_addr = m.destination_addr;
  return r;
}

void Gateway::readBackUnindexed() {
  const auto t0 = std::chrono::steady_clock::now();
  index_restoring_ = true;
  index_reread_at_ = 0;
  index_restored_ = 0;  // (read again after a failure: counted again from the start)
  store_->readUnindexed(kReadBackPage, [this, t0](std::vector<store::StoredMapping> page, bool last,
                                                  bool ok) {
    restoreUnindexed(std::move(page));
    if (!last) {
      return;
    }
    if (!ok) {
      // The mark must not pass what was not read: new entries wait too (their mappings are
      // on disk by gateway id, and in memory).
      log::error("store_unreadable", "reading", "unindexed mappings", "reason", store_->lastError(),
                 "action", "read again in 10 s");
      index_reread_at_ = now() + 10'000;
      return;
    }
    index_restoring_ = false;
    // The mark may pass them once their pages are durable (indexDue).
    index_handled_ = std::max(index_handled_, index_restored_max_);
    log::info(
        "store_mappings_restored", "reindexed", index_restored_, "ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  });
}

void Gateway::restoreUnindexed(std::vector<store::StoredMapping> page) {
  std::unordered_map<std::string_view, uint32_t> upstream_ids;
  for (const auto& u : upstreams_) {
    upstream_ids.emplace(u->name(), u->id().value);
  }
  // Their entries are built from the page, not from memory (the hot cache may evict some before
  // a later tick), and written now: they are ~10 s old already. They are kept until written: a
  // refused page is written again from them.
  IndexBatch batch;
  batch.gids.reserve(page.size());
  batch.owned.reserve(page.size());
  const uint64_t wall = wallClockMs();
  const uint64_t ttl = ms(cfg().store.mapping_ttl);
  for (store::StoredMapping& m : page) {
    batch.gids.push_back(m.gateway_id);
    if (m.created_ms + ttl <= wall) {
      continue;  // past store.mapping_ttl (the gateway was down that long): expiring on disk
    }
    auto cust = customer_by_system_id_.find(m.customer);
    auto u = upstream_ids.find(m.upstream);
    if (cust == customer_by_system_id_.end() || u == upstream_ids.end()) {
      continue;  // its customer or carrier is gone: nothing would deliver its receipts
    }
    const store::MappingInput in = mappingInputOf(m, cust->second, u->second, now());
    store::MappingView have;
    const bool known = ids_.mappings().byUpstream(in.upstream, in.upstream_key, have);
    if (known && have.gateway_id > m.gateway_id) {
      continue;  // a newer mapping took the carrier id since the start: its entry must win
    }
    if (!known || have.gateway_id != m.gateway_id) {
      ids_.record(in);  // (already there when a failed read-back is read again)
    }
    batch.owned.push_back({m.gateway_id, std::move(m.upstream), std::move(m.upstream_key)});
  }
  if (batch.gids.empty()) {
    return;
  }
  index_restored_ += batch.gids.size();
  index_restored_max_ = std::max(index_restored_max_, batch.gids.back());
  index_written_ += batch.owned.size();
  index_skipped_ += batch.gids.size() - batch.owned.size();
  // The mark stays where it is until the last page (indexDue moves it).
  batch.ticket = writeIndex(batch.owned);
  const uint64_t first = batch.gids.front();
  index_inflight_.emplace_back(first, std::move(batch));
  storeWritten();
}

uint64_t Gateway::writeIndex(const std::vector<OwnedIndexEntry>& owned) {
  std::vector<store::IndexEntry> entries;
  entries.reserve(owned.size());
  for (const OwnedIndexEntry& e : owned) {
    entries.push_back({e.gateway_id, e.upstream, e.upstream_key});
  }
  return store_->indexMappings(entries, index_marked_);
}

void Gateway::redoIndex() {
  auto again = std::move(index_redo_);
  index_redo_.clear();
  for (auto& [first, batch] : again) {
    batch.ticket = writeIndex(batch.owned);
    index_inflight_.emplace_back(first, std::move(batch));
  }
  storeWritten();
}

void Gateway::indexDue() {
  if (store_failing_) {
    return;  // refused anyway (refused batches wait in index_redo_ or index_pending_)
  }
  // Entries are written kIndexDelayMs after acceptance, or earlier when so many wait that the
  // mapping cache could evict one before (entries are read back from it: half its size at most)
  // or that a restart would read back too many.
  const uint64_t wall = wallClockMs();
  const size_t cap = std::clamp<size_t>(cfg().store.max_mappings / 2, 1, kMaxUnindexed);
  std::vector<uint64_t> gids;
  std::vector<store::IndexEntry> entries;
  // Four times as many beyond the cap: the hot cache must not evict one before its entry is
  // written (a batch of 80,000 is ~40 ms of the loop).
  const size_t per_tick = index_pending_.size() > cap ? 4 * kIndexPerTick : kIndexPerTick;
  while (!index_pending_.empty() && gids.size() < per_tick) {
    const uint64_t gid = index_pending_.front();
    if (IdMinter::mintedMs(gid) + kIndexDelayMs > wall && index_pending_.size() <= cap) {
      break;
    }
    index_pending_.pop_front();
    gids.push_back(gid);
    if (store::MappingView m;
        ids_.mappings().byGatewayId(gid, m) && !ids_.mappings().settled(gid)) {
      entries.push_back({gid, upstreamName(UpstreamRt(m.upstream)), m.upstream_key});
    }
  }
  if (gids.empty()) {
    if (!index_restoring_ && index_pending_.empty() && index_inflight_.empty() &&
        index_redo_.empty() && index_marked_ < index_handled_) {
      // All written: the mark catches up (a restart then indexes nothing again).
      index_marked_ = index_handled_;
      index_inflight_.emplace_back(index_handled_ + 1,
                                   IndexBatch{store_->indexMappings({}, index_handled_), {}, {}});
      storeWritten();
    }
    return;
  }
  // The mark is written with the entries (one batch): it covers them, unless an earlier batch is
  // not durable yet (it may fail and be sent again): then it stays below that one. While the
  // mappings of the last process are being read back it stays where it is.
  index_handled_ = std::max(index_handled_, gids.back());
  if (!index_restoring_) {
    uint64_t lowest = gids.front();
    for (const auto& [batch_first, batch] : index_inflight_) {
      lowest = std::min(lowest, batch_first);
    }
    for (const auto& [batch_first, batch] : index_redo_) {
      lowest = std::min(lowest, batch_first);
    }
    index_marked_ = index_inflight_.empty() && index_redo_.empty() ? index_handled_ : lowest - 1;
  }
  index_skipped_ += gids.size() - entries.size();
  index_written_ += entries.size();
  const uint64_t first = gids.front();  // (before gids is moved)
  index_inflight_.emplace_back(
      first, IndexBatch{store_->indexMappings(entries, index_marked_), std::move(gids), {}});
  storeWritten();
}

void Gateway::parkMulti(uint64_t gateway_id) {
  auto it = multis_.find(gateway_id);
  if (it == multis_.end()) {
    return;
  }
  uint64_t newest = 0;
  for (uint64_t t : it->second.part_tickets) {
    newest = std::max(newest, t);
  }
  if (newest <= store_done_) {
    // Every part's mapping is reported already: answered now, as those reports said.
    MultiSubmit done = std::move(it->second);
    multis_.erase(it);
    finishMulti(std::move(done));
    return;
  }
  ParkedAnswer p;
  p.ticket = store_->lastTicket();  // (not before the parked answers queued ahead of it)
  p.gateway_id = gateway_id;
  p.multi = true;
  p.offset = parked_base_ + parked_bytes_.size();
  parked_.push_back(p);
}

bool Gateway::holdForParked(const store::MappingView& m, CommandId command, codec::Bytes raw,
                            BindRef from, uint32_t upstream_seq) {
  auto it = parked_receipts_.find(m.gateway_id);
  if (it == parked_receipts_.end()) {
    return false;
  }
  it->second.push_back(heldReceipt(m, command, raw, from, upstream_seq));
  return true;
}

std::string_view Gateway::customerName(CustomerRt customer) const {
  return customer.value < customers_.size() ? std::string_view(customers_[customer.value].system_id)
                                            : std::string_view();
}

uint64_t Gateway::nextDeliveryId() {
  return minter_.next(wallClockMs());
}

void Gateway::writesDone(uint64_t ticket, bool ok) {
  const uint64_t reported = store_done_;  // tickets in (reported, ticket] are reported now
  store_done_ = std::max(store_done_, ticket);
  if (!ok) {
    // submit_multis whose parts' mappings were in the refused batch: no part counts as stored.
    for (auto& [gid, mu] : multis_) {
      for (uint64_t t : mu.part_tickets) {
        mu.store_failed = mu.store_failed || (t > reported && t <= ticket);
      }
    }
  }
  outboxes_->writesDone(ticket, ok);
  std::vector<uint64_t> unindexed;  // refused batches' ids, in id order
  while (!index_inflight_.empty() && index_inflight_.front().second.ticket <= ticket) {
    if (!ok) {
      auto& [first, batch] = index_inflight_.front();
      if (!batch.owned.empty()) {
        index_redo_.emplace_back(first, std::move(batch));  // a read-back page: as read
      } else {
        unindexed.insert(unindexed.end(), batch.gids.begin(), batch.gids.end());
      }
    }
    index_inflight_.pop_front();
  }
  // Not written: due again (first in line, in order: the mark must not pass them), once the
  // store takes writes.
  index_pending_.insert(index_pending_.begin(), unindexed.begin(), unindexed.end());
  while (!dequeues_.empty() && dequeues_.front().ticket <= ticket) {
    if (!ok) {
      dequeues_failed_.push_back(std::move(dequeues_.front()));
    }
    dequeues_.pop_front();
  }
  if (!ok) {
    if (!store_failing_) {
      log::error("store_unwritable", "reason", store_->lastError(), "action",
                 "new submits refused (ESME_RSYSERR), deliveries left with the carriers; "
                 "probing every second");
    }
    store_failing_ = true;
    store_failed_ticket_ = ticket;
  } else if (store_failing_ && ticket > store_failed_ticket_) {
    store_failing_ = false;
    log::info("store_writable", "action", "submits accepted again", "rewritten",
              dequeues_failed_.size() + outboxes_->unwritten());
    redoDequeues();
    redoIndex();
    outboxes_->storeWritable();
    forward_ready_ = true;
  }
  while (!parked_.empty() && parked_.front().ticket <= ticket) {
    const ParkedAnswer p = parked_.front();
    parked_.pop_front();
    if (p.multi) {
      auto it = multis_.find(p.gateway_id);
      if (it != multis_.end()) {
        MultiSubmit done = std::move(it->second);
        multis_.erase(it);
        if (!ok || done.store_failed) {
          // Not stored: no destination may count as accepted.
          done.accepted = 0;
          for (auto& d : done.dests) {
            d.status = st::ESME_RSYSERR;
          }
        }
        finishMulti(std::move(done));
      }
      continue;
    }
    if (p.forward) {
      // Its queue entry is written (it may go to a carrier now) or not (it never will).
      if (auto it = forwarded_.find(p.gateway_id); it != forwarded_.end()) {
        if (ok) {
          it->second.durable = true;
          fwd_groups_[it->second.group].due.emplace(0, p.gateway_id);
          forward_ready_ = true;
        } else {
          forwardGone(it->second.group);
          forwarded_.erase(it);
        }
      }
    }
    if (DownstreamSession* s = session(p.origin)) {
      if (ok) {
        const uint8_t* bytes = parked_bytes_.data() + (p.offset - parked_base_);
        s->answer([&](codec::Buffer& out) { out.append(bytes, p.length); });
        if (auto* m = customerMetrics(p.customer)) {
          rt_.metrics().customerResponse(*m, codec::responseFor(p.command), st::ESME_ROK);
          m->latency->observeNs(loop_.cachedNs() - p.started_ns);
        }
      } else {
        s->answerStatus(p.command, p.origin_seq, st::ESME_RSYSERR);
        if (auto* m = customerMetrics(p.customer)) {
          rt_.metrics().customerResponse(*m, codec::responseFor(p.command), st::ESME_RSYSERR);
        }
      }
    }
    // Receipts that matched it meanwhile, in their order, after the answer.
    auto it = parked_receipts_.find(p.gateway_id);
    if (it != parked_receipts_.end()) {
      std::vector<HeldReceipt> held = std::move(it->second);
      parked_receipts_.erase(it);
      for (HeldReceipt& h : held) {
        codec::Pdu pdu;
        store::MappingView m;
        if (!codec::decode(h.pdu.view(), pdu) &&
            ids_.mappings().byUpstream(h.upstream.value, h.key, m)) {
          receiptMatched(m, pdu, h.pdu.view(), h.from, h.upstream_seq);
        } else {
          ids_.unmatched(h.upstream, h.key, h.from, h.command, h.upstream_seq,
                         metrics::UnmatchedReason::HeldExpired);
        }
      }
    }
  }
  if (forward_ready_) {
    forwardDue(now());  // only when something became sendable: not a scan per batch
  }
  // The answers' bytes: dropped from the front once a MiB of them is done.
  const uint64_t head =
      parked_.empty() ? parked_base_ + parked_bytes_.size() : parked_.front().offset;
  if (parked_.empty()) {
    parked_bytes_.clear();
    parked_base_ = head;
  } else if (head - parked_base_ >= kParkedCompact) {
    codec::Buffer rest;
    rest.append(parked_bytes_.data() + (head - parked_base_),
                parked_bytes_.size() - (head - parked_base_));
    parked_bytes_ = std::move(rest);
    parked_base_ = head;
  }
}

bool Gateway::lookupStored(UpstreamRt upstream, std::string_view key) {
  if (!store_) {
    return false;
  }
  store_->findByUpstream(
      std::string(upstreamName(upstream)), std::string(key), wallClockMs(),
      ms(cfg().store.mapping_ttl),
      [this, upstream, k = std::string(key)](std::optional<store::StoredMapping> found, bool ok) {
        if (!ok) {
          ids_.storeUnreadable(upstream, k);  // the carrier keeps them and sends them again
          return;
        }
        auto c =
            found ? customer_by_system_id_.find(found->customer) : customer_by_system_id_.end();
        if (c == customer_by_system_id_.end()) {
          // Found all the same when the read-back after a restart put it in memory meanwhile
          // (its carrier-id entry was not written yet); missing, or its customer is gone.
          store::MappingView m;
          ++(ids_.mappings().byUpstream(upstream.value, k, m) ? store_lookups_found_
                                                              : store_lookups_missing_);
          ids_.storeAnswered(upstream, k, nullptr);
          return;
        }
        ++store_lookups_found_;
        const store::MappingInput in = mappingInputOf(*found, c->second, upstream.value, now());
        ids_.storeAnswered(upstream, k, &in);
      });
  return true;
}

MtResult Gateway::onByIdStored(DownstreamSession& s, const codec::Pdu& pdu, uint64_t gateway_id) {
  // Kept as bytes: the decoded PDU points into the session's input, gone by the answer.
  auto raw = std::make_shared<codec::Buffer>();
  codec::encode(pdu, *raw, {0x50});
  store_->findByGatewayId(
      gateway_id, wallClockMs(), ms(cfg().store.mapping_ttl),
      [this, ref = s.ref(), raw, gateway_id](std::optional<store::StoredMapping> found, bool ok) {
        DownstreamSession* sp = session(ref);
        codec::Pdu p;
        if (sp == nullptr || codec::decode(raw->view(), p)) {
          return;  // the session went meanwhile
        }
        auto c =
            found ? customer_by_system_id_.find(found->customer) : customer_by_system_id_.end();
        Upstream* up = nullptr;
        if (found) {
          for (auto& u : upstreams_) {
            up = u->name() == found->upstream ? u.get() : up;
          }
        }
        // Not readable is not unknown: the customer may ask again.
        MtResult r = MtResult::refused(ok ? st::ESME_RINVMSGID : st::ESME_RSYSERR);
        if (c != customer_by_system_id_.end() && c->second == sp->customer() && up != nullptr) {
          ++store_lookups_found_;
          const store::MappingView m =
              ids_.record(mappingInputOf(*found, c->second, up->id().value, now()));
          forwardById(*sp, p, gateway_id, m, r);
        } else {
          ++store_lookups_missing_;
        }
        if (!r.pending) {
          sp->answerStatus(p.command_id, p.sequence_number, r.status);
        }
      });
  return MtResult::forwarded();  // answered from the callback
}

void Gateway::publishStoreGauges() {
  auto& reg = rt_.metrics().registry();
  using GF = metrics::GaugeFamily;
  using CF = metrics::CounterFamily;
  if (!store_) {
    reg.gauge(GF::StoreBacklog).set(0);
    reg.gauge(GF::StoreJournalBytes).set(0);
    reg.gauge(GF::StoreWritable).set(1);
    return;
  }
  const uint64_t t = now();
  if (t >= next_store_expiry_ms_) {
    next_store_expiry_ms_ = t + kStoreExpiryMs;
    store_->expire(wallClockMs(), ms(cfg().store.mapping_ttl), ms(cfg().store.delivery_ttl));
  }
  if (store_failing_ && t >= next_store_probe_ms_) {
    next_store_probe_ms_ = t + 1000;
    store_->probe();  // succeeds once there is room again (writesDone clears the failure)
    storeWritten();
  }
  reg.gauge(GF::StoreWritable).set(store_failing_ ? 0 : 1);
  if (index_reread_at_ != 0 && t >= index_reread_at_) {
    readBackUnindexed();
  }
  indexDue();
  forwardReadMore(t);
  forwardDue(t);
  publishForwardGauges();
  const store::StoreStats s = store_->stats();
  const store::StoreStats& p = published_disk_;
  reg.counter(CF::StoreWrites, {"ok"}).add(s.writes - p.writes);
  reg.counter(CF::StoreWrites, {"failed"}).add(s.failed_writes - p.failed_writes);
  reg.counter(CF::StoreBatches).add(s.batches - p.batches);
  reg.counter(CF::StoreWrittenBytes).add(s.bytes_written - p.bytes_written);
  reg.counter(CF::StoreExpired, {"mapping_ttl"}).add(s.expired_mappings - p.expired_mappings);
  reg.counter(CF::StoreExpired, {"delivery_ttl"}).add(s.expired_deliveries - p.expired_deliveries);
  reg.counter(CF::StoreJournalFull).add(s.journal_full - p.journal_full);
  reg.gauge(GF::StoreJournalBytes).set(static_cast<int64_t>(s.journal_bytes));
  published_disk_ = s;
  reg.counter(CF::StoreLookups, {"found"}).add(store_lookups_found_);
  reg.counter(CF::StoreLookups, {"missing"}).add(store_lookups_missing_);
  store_lookups_found_ = store_lookups_missing_ = 0;
  reg.counter(CF::StoreIndex, {"written"}).add(index_written_);
  reg.counter(CF::StoreIndex, {"skipped"}).add(index_skipped_);
  index_written_ = index_skipped_ = 0;
  reg.gauge(GF::StoreDiskBytes).set(static_cast<int64_t>(store_->diskBytes()));
  reg.gauge(GF::StoreBacklog).set(static_cast<int64_t>(store_->lastTicket() - store_done_));
}

}  // namespace smppgw
