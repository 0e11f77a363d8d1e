// The embedded store: RocksDB in a directory. One writer thread commits queued writes in batches
// (group commit: what queued while a batch was being written goes in the next one); one reader
// thread answers lookups. Nothing of RocksDB is visible outside this file.
//
// Keys, in the default column family (the first byte says what follows):
//   'g' gateway id (8 bytes, big-endian)            -> mapping   (ids are minted in time order,
//                                                                  so key order is age order)
//   'o' customer '\0' delivery id (8 bytes, big-end.) -> delivery (per customer, in arrival order)
//   'q' group '\0' gateway id (8 bytes, big-endian)   -> store_and_forward message (queue order)
//   "mindexed"                                      -> gateway id (8 bytes): see indexMappings
// and in the "carrier" column family:
//   upstream '\0' normalised carrier id              -> gateway id (8 bytes)
// The carrier index has its own family because its keys arrive in random order: in the default
// skip-list memtable their inserts cost ~4 us of CPU per message at G8 (measured: 5.9 against
// 2.0 us/rt added without them), in a hash memtable a bucket lookup. It is only ever read by
// whole key, never iterated, so it needs no order until a flush sorts it.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "store/journal.h"
#include "store/store.h"

namespace smppgw::store {
namespace {

void putBE64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    s.push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
  }
}

uint64_t getBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  }
  return v;
}

void putStr(std::string& s, std::string_view v) {
  const size_t n = std::min<size_t>(v.size(), 0xFFFF);
  s.push_back(static_cast<char>(n >> 8));
  s.push_back(static_cast<char>(n & 0xFF));
  s.append(v.data(), n);
}

bool getStr(std::string_view& in, std::string& out) {
  if (in.size() < 2) {
    return false;
  }
  const size_t n =
      (static_cast<size_t>(static_cast<uint8_t>(in[0])) << 8) | static_cast<uint8_t>(in[1]);
  if (in.size() < 2 + n) {
    return false;
  }
  out.assign(in.substr(2, n));
  in.remove_prefix(2 + n);
  return true;
}

// Every mapping written without its carrier-id entry and with a gateway id up to this key's value
// (8 bytes, big-endian) is indexed, or needs no index (Store::indexMappings).
constexpr std::string_view kIndexedKey = "mindexed";
// The journal's directory at the last open ("" none): a changed store.journal still finds what a
// crash left in the old one.
constexpr std::string_view kJournalKey = "mjournal";

std::string mappingKey(uint64_t gateway_id) {
  std::string k(1, 'g');
  putBE64(k, gateway_id);
  return k;
}

std::string carrierKey(std::string_view upstream, std::string_view key) {
  std::string k;
  k.append(upstream);
  k.push_back('\0');
  k.append(key);
  return k;
}

// The records kept per name in id order: a customer's outbox ('o'), a group's queue ('q').
std::string namedPrefix(char tag, std::string_view name) {
  std::string k(1, tag);
  k.append(name);
  k.push_back('\0');
  return k;
}

std::string namedKey(char tag, std::string_view name, uint64_t id) {
  std::string k = namedPrefix(tag, name);
  putBE64(k, id);
  return k;
}

std::string encodeQueued(const QueuedMessage& m) {
  std::string v;
  v.reserve(12 + m.customer.size() + m.pdu.size());
  putBE64(v, m.created_ms);
  putStr(v, m.customer);
  putStr(v, m.destination);
  v.append(m.pdu);
  return v;
}

std::optional<QueuedMessage> decodeQueued(uint64_t gateway_id, std::string_view v) {
  if (v.size() < 8) {
    return std::nullopt;
  }
  QueuedMessage m;
  m.gateway_id = gateway_id;
  m.created_ms = getBE64(v.data());
  v.remove_prefix(8);
  if (!getStr(v, m.customer) || !getStr(v, m.destination)) {
    return std::nullopt;
  }
  m.pdu.assign(v);
  return m;
}

std::string encodeMapping(const MappingRecord& m) {
  std::string v;
  v.reserve(16 + m.customer.size() + m.upstream.size() + m.upstream_id.size() +
            m.upstream_key.size() + m.source_addr.size() + m.destination_addr.size() + 12);
  putBE64(v, m.created_ms);
  v.push_back(static_cast<char>(m.registered_delivery));
  putStr(v, m.customer);
  putStr(v, m.upstream);
  putStr(v, m.upstream_id);
  putStr(v, m.upstream_key);
  putStr(v, m.source_addr);
  putStr(v, m.destination_addr);
  return v;
}

std::optional<StoredMapping> decodeMapping(uint64_t gateway_id, std::string_view v) {
  if (v.size() < 9) {
    return std::nullopt;
  }
  StoredMapping m;
  m.gateway_id = gateway_id;
  m.created_ms = getBE64(v.data());
  m.registered_delivery = static_cast<uint8_t>(v[8]);
  v.remove_prefix(9);
  if (!getStr(v, m.customer) || !getStr(v, m.upstream) || !getStr(v, m.upstream_id) ||
      !getStr(v, m.upstream_key) || !getStr(v, m.source_addr) || !getStr(v, m.destination_addr)) {
    return std::nullopt;
  }
  return m;
}

std::string encodeDelivery(const StoredDelivery& d) {
  std::string v;
  v.reserve(13 + d.pdu.size());
  putBE64(v, d.created_ms);
  for (int i = 3; i >= 0; --i) {
    v.push_back(static_cast<char>((d.command >> (i * 8)) & 0xFF));
  }
  v.push_back(static_cast<char>(d.version_needed));
  v.append(d.pdu);
  return v;
}

std::optional<StoredDelivery> decodeDelivery(uint64_t id, std::string_view v) {
  if (v.size() < 13) {
    return std::nullopt;
  }
  StoredDelivery d;
  d.id = id;
  d.created_ms = getBE64(v.data());
  for (int i = 0; i < 4; ++i) {
    d.command = (d.command << 8) | static_cast<uint8_t>(v[8 + i]);
  }
  d.version_needed = static_cast<uint8_t>(v[12]);
  d.pdu.assign(v.substr(13));
  return d;
}

std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// Removals per expiry slice: kExpireIdle when the writer has nothing else to do, kExpireBusy
// between batch rounds (so a store that is never idle still expires, and no commit waits behind
// a long pass).
constexpr size_t kExpireIdle = 5'000;
constexpr size_t kExpireBusy = 500;
// How long journaled batches (answered already) wait for their commit at most: one log write then
// carries many loop iterations' writes. Lookups wait for the commits before them.
constexpr int kCommitEveryMs = 2;

// Opening: the mark above which mappings may lack their carrier-id entry (the process stopped
// before writing them: readUnindexed gives them back). A store without the key (new, or
// written before entries were deferred) has every mapping indexed: the key is set to its newest
// mapping now.
rocksdb::Status readIndexMark(rocksdb::DB& db, bool sync, uint64_t& through) {
  const rocksdb::Slice marker_key(kIndexedKey.data(), kIndexedKey.size());
  std::string v;
  const rocksdb::Status st = db.Get(rocksdb::ReadOptions(), marker_key, &v);
  if (st.IsNotFound()) {
    through = 0;
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
    it->SeekForPrev(std::string("g") + std::string(8, '\xff'));
    if (it->Valid() && it->key().size() == 9 && it->key()[0] == 'g') {
      through = getBE64(it->key().data() + 1);
    }
    std::string marker;
    putBE64(marker, through);
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return db.Put(wo, marker_key, marker);
  }
  if (!st.ok() || v.size() != 8) {
    return st.ok() ? rocksdb::Status::Corruption("mindexed") : st;
  }
  through = getBE64(v.data());
  return rocksdb::Status::OK();
}

class RocksStore final : public Store {
 public:
  RocksStore(StoreOptions options, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles, std::unique_ptr<Journal> journal,
             OpenInfo opened)
      : opts_(std::move(options)), db_(std::move(db)), handles_(std::move(handles)) {
    carrier_ = handles_.at(1);
    journal_ = std::move(journal);
    info_ = std::move(opened);
    if (opts_.batch_max == 0) {
      opts_.batch_max = 1;
    }
    scanOpenInfo();
    measureDisk();
    writer_ = std::thread([this] { writerLoop(); });
    reader_ = std::thread([this] { readerLoop(); });
  }

  ~RocksStore() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    {
      std::lock_guard lk(rmu_);
      rstop_ = true;
    }
    rcv_.notify_all();
    writer_.join();  // commits what is still queued first
    reader_.join();
    if (!broken_) {
      db_->FlushWAL(true);
    }
    if (journal_ && journal_->pending() == 0) {
      journal_->unlink();  // (what is left in it is replayed at the next start)
    }
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h);  // before the database closes
    }
  }

  const OpenInfo& openInfo() const override { return info_; }

  uint64_t putMapping(const MappingRecord& m, bool index) override {
    const std::string v = encodeMapping(m);
    std::string ck;
    std::string gid;
    if (index) {
      ck = carrierKey(m.upstream, m.upstream_key);
      putBE64(gid, m.gateway_id);
    }
    return append([&](rocksdb::WriteBatch& wb) {
      wb.Put(mappingKey(m.gateway_id), v);
      if (!index) {
        return v.size() + 9;
      }
      wb.Put(carrier_, ck, gid);
      return v.size() + ck.size() + 17;
    });
  }

  uint64_t indexMappings(std::span<const IndexEntry> entries, uint64_t through) override {
    std::string marker;
    putBE64(marker, through);
    return append([&](rocksdb::WriteBatch& wb) {
      size_t bytes = kIndexedKey.size() + 8;
      std::string gid;
      for (const IndexEntry& e : entries) {
        const std::string ck = carrierKey(e.upstream, e.upstream_key);
        gid.clear();
        putBE64(gid, e.gateway_id);
        wb.Put(carrier_, ck, gid);
        bytes += ck.size() + 8;
      }
      wb.Put(rocksdb::Slice(kIndexedKey.data(), kIndexedKey.size()), marker);
      return bytes;
    });
  }

  void readUnindexed(size_t page, UnindexedCallback cb) override {
    page = std::max<size_t>(page, 1);
    lookup([this, page, cb = std::move(cb)]() mutable {
      std::vector<StoredMapping> out;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(mappingKey(info_.index_mark + 1)); it->Valid(); it->Next()) {
        const std::string_view k = view(it->key());
        if (k.size() != 9 || k[0] != 'g') {
          break;
        }
        if (auto m = decodeMapping(getBE64(k.data() + 1), view(it->value()))) {
          out.push_back(std::move(*m));
        }
        if (out.size() == page) {  // a page now; the lookups behind this job wait for the rest
          {
            // At most two pages handed over and not yet taken: the owner takes one or two per
            // poll, not all that piled up (its loop would stall for the whole read-back).
            std::unique_lock lk(rmu_);
            rcv_.wait(lk, [&] { return rstop_ || pages_out_ < 2; });
            if (rstop_) {
              return std::function<void()>([] {});
            }
            ++pages_out_;
            rdone_.push_back([this, cb, got = std::move(out)]() mutable {
              {
                std::lock_guard pl(rmu_);
                --pages_out_;
              }
              rcv_.notify_all();
              cb(std::move(got), false, true);
            });
          }
          wakeOwner();
          out.clear();
        }
      }
      const bool ok = it->status().ok();
      return std::function<void()>([cb = std::move(cb), got = std::move(out), ok]() mutable {
        cb(std::move(got), true, ok);
      });
    });
  }

  uint64_t putDelivery(std::string_view customer, const StoredDelivery& d) override {
    return put(namedKey('o', customer, d.id), encodeDelivery(d));
  }

  uint64_t removeDelivery(std::string_view customer, uint64_t id) override {
    return remove(namedKey('o', customer, id));
  }

  uint64_t putQueued(std::string_view group, const QueuedMessage& m) override {
    return put(namedKey('q', group, m.gateway_id), encodeQueued(m));
  }

  uint64_t removeQueued(std::string_view group, uint64_t gateway_id) override {
    return remove(namedKey('q', group, gateway_id));
  }

  uint64_t dequeueWithMapping(std::string_view group, const MappingRecord& m) override {
    const std::string v = encodeMapping(m);
    const std::string ck = carrierKey(m.upstream, m.upstream_key);
    std::string gid;
    putBE64(gid, m.gateway_id);
    const std::string qk = namedKey('q', group, m.gateway_id);
    return append([&](rocksdb::WriteBatch& wb) {
      wb.Put(mappingKey(m.gateway_id), v);
      wb.Put(carrier_, ck, gid);
      wb.Delete(qk);
      return v.size() + ck.size() + 17 + qk.size();
    });
  }

  uint64_t dequeueWithDelivery(std::string_view group, uint64_t gateway_id,
                               std::string_view customer, const StoredDelivery& d) override {
    const std::string ok = namedKey('o', customer, d.id);
    const std::string ov = encodeDelivery(d);
    const std::string qk = namedKey('q', group, gateway_id);
    return append([&](rocksdb::WriteBatch& wb) {
      wb.Put(ok, ov);
      wb.Delete(qk);
      return ok.size() + ov.size() + qk.size();
    });
  }

  void readQueue(std::string group, uint64_t after_id, size_t max, QueueCallback cb) override {
    readRange(namedPrefix('q', group), after_id, max, std::move(cb), &decodeQueued);
  }

  uint64_t probe() override {
    return append([&](rocksdb::WriteBatch& wb) {
      wb.Put("mprobe", "1");
      return size_t{7};
    });
  }

  // Up to `max` records of `prefix` + id (8 bytes, big-endian) with id > after_id, in id order,
  // decoded (records that do not decode are skipped), to `cb` on the owner's thread.
  template <typename T, typename Callback>
  void readRange(std::string prefix, uint64_t after_id, size_t max, Callback cb,
                 std::optional<T> (*decode)(uint64_t, std::string_view)) {
    lookup([this, prefix = std::move(prefix), after_id, max, cb = std::move(cb), decode]() mutable {
      std::vector<T> out;
      std::string from = prefix;
      putBE64(from, after_id + 1);
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(from); it->Valid() && out.size() < max; it->Next()) {
        const std::string_view k = view(it->key());
        if (k.size() != prefix.size() + 8 || k.substr(0, prefix.size()) != prefix) {
          break;
        }
        if (auto r = decode(getBE64(k.data() + prefix.size()), view(it->value()))) {
          out.push_back(std::move(*r));
        }
      }
      const bool ok = it->status().ok();
      return std::function<void()>(
          [cb = std::move(cb), out = std::move(out), ok]() mutable { cb(std::move(out), ok); });
    });
  }

  void kick() override {
    {
      std::lock_guard lk(mu_);
      if (groups_.empty()) {
        return;
      }
      if (journal_ && !failing_.load(std::memory_order_relaxed)) {
        journalGroups();
        // All answered already: the commit waits for more (kCommitEveryMs, or batch_max writes
        // queued), so one log write carries many iterations' batches.
        size_t queued = 0;
        for (const Group& g : groups_) {
          queued += g.count;
        }
        if (groups_.back().journal_end != 0 && queued < opts_.batch_max &&
            journal_->pending() < opts_.journal_bytes / 4) {
          if (lazy_) {
            return;  // the writer's timer runs already
          }
          lazy_ = true;  // the writer is told once, to start its timer
        } else {
          kicked_ = true;
        }
      } else {
        kicked_ = true;
      }
    }
    cv_.notify_one();
  }

  uint64_t lastTicket() const override {
    std::lock_guard lk(mu_);
    return next_ticket_;
  }

  void findByGatewayId(uint64_t gateway_id, uint64_t now_ms, uint64_t ttl_ms,
                       MappingCallback cb) override {
    lookup([this, gateway_id, now_ms, ttl_ms, cb = std::move(cb)]() mutable {
      bool ok = true;
      auto m = getMapping(gateway_id, now_ms, ttl_ms, ok);
      return std::function<void()>(
          [cb = std::move(cb), m = std::move(m), ok]() mutable { cb(std::move(m), ok); });
    });
  }

  void findByUpstream(std::string upstream, std::string upstream_key, uint64_t now_ms,
                      uint64_t ttl_ms, MappingCallback cb) override {
    lookup([this, upstream = std::move(upstream), key = std::move(upstream_key), now_ms, ttl_ms,
            cb = std::move(cb)]() mutable {
      std::optional<StoredMapping> m;
      std::string gid;
      const rocksdb::Status st =
          db_->Get(rocksdb::ReadOptions(), carrier_, carrierKey(upstream, key), &gid);
      bool ok = st.ok() || st.IsNotFound();
      if (st.ok() && gid.size() == 8) {
        m = getMapping(getBE64(gid.data()), now_ms, ttl_ms, ok);
        if (m && (m->upstream != upstream || m->upstream_key != key)) {
          m.reset();
        }
      }
      return std::function<void()>(
          [cb = std::move(cb), m = std::move(m), ok]() mutable { cb(std::move(m), ok); });
    });
  }

  void readOutbox(std::string customer, uint64_t after_id, size_t max, OutboxCallback cb) override {
    readRange(namedPrefix('o', customer), after_id, max, std::move(cb), &decodeDelivery);
  }

  void expire(uint64_t now_ms, uint64_t mapping_ttl_ms, uint64_t delivery_ttl_ms) override {
    {
      std::lock_guard lk(mu_);
      expire_ = Expire{now_ms, mapping_ttl_ms, delivery_ttl_ms};
    }
    cv_.notify_one();
  }

  void poll(StoreListener& listener) override {
    std::deque<std::pair<uint64_t, bool>> done;
    std::deque<std::function<void()>> callbacks;
    {
      std::lock_guard lk(mu_);
      done.swap(done_);
    }
    {
      std::lock_guard lk(rmu_);
      callbacks.swap(rdone_);
    }
    for (const auto& [ticket, ok] : done) {
      listener.writesDone(ticket, ok);
    }
    for (auto& cb : callbacks) {
      cb();
    }
  }

  StoreStats stats() const override {
    std::lock_guard lk(mu_);
    StoreStats s = stats_;
    s.lookups = lookups_.load(std::memory_order_relaxed);
    s.journal_bytes = journal_ ? journal_->pending() : 0;
    return s;
  }

  std::string lastError() const override {
    std::lock_guard lk(mu_);
    return last_error_;
  }

  uint64_t diskBytes() const override { return disk_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Group {
    rocksdb::WriteBatch wb;
    uint32_t count = 0;
    uint64_t bytes = 0;
    uint64_t first_ticket = 0;
    uint64_t last_ticket = 0;
    uint64_t journal_end = 0;   // in the journal, and reported done: committed later, never lost
    bool journal_full = false;  // the journal had no room for it: reported after its commit
  };

  // kick(), mu_ held: copies the groups whose every earlier write is reported into the journal and
  // reports them done now (in ticket order: a report covers every ticket below it). A group that
  // does not fit, and those after it, wait for their commit.
  void journalGroups() {
    for (Group& g : groups_) {
      if (g.journal_end != 0) {
        continue;
      }
      if (g.first_ticket != reported_ + 1) {
        return;  // an earlier batch is being committed: reported with it
      }
      const uint64_t end = journal_->append(std::string_view(g.wb.Data()));
      if (end == 0) {
        if (!g.journal_full) {  // (tried again at each kick until committed: counted once)
          g.journal_full = true;
          ++stats_.journal_full;
        }
        return;
      }
      g.journal_end = end;
      reported_ = g.last_ticket;
      done_.emplace_back(g.last_ticket, true);
    }
  }
  struct Expire {
    uint64_t now_ms, mapping_ttl_ms, delivery_ttl_ms;
  };

  uint64_t put(const std::string& k, const std::string& v) {
    return append([&](rocksdb::WriteBatch& wb) {
      wb.Put(k, v);
      return k.size() + v.size();
    });
  }

  uint64_t remove(const std::string& k) {
    return append([&](rocksdb::WriteBatch& wb) {
      wb.Delete(k);
      return k.size();
    });
  }

  template <typename Fn>
  uint64_t append(Fn&& add) {
    bool notify = false;
    uint64_t ticket = 0;
    {
      std::lock_guard lk(mu_);
      if (groups_.empty() || groups_.back().count >= opts_.batch_max ||
          groups_.back().journal_end != 0) {
        groups_.emplace_back();
        groups_.back().first_ticket = next_ticket_ + 1;
      }
      Group& g = groups_.back();
      g.bytes += add(g.wb);
      ++g.count;
      ticket = g.last_ticket = ++next_ticket_;
      // A full batch goes at once; the rest waits for kick().
      notify = g.count >= opts_.batch_max;
    }
    if (notify) {
      cv_.notify_one();
    }
    return ticket;
  }

  void writerLoop() {
    // RocksDB's per-thread perf counters cost a thread-local lookup per key comparison in the
    // memtable (measured: ~7 % of the gateway's CPU at G8); nothing here reads them.
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    rocksdb::WriteOptions wo;
    wo.sync = opts_.sync;
    std::unique_lock lk(mu_);
    for (;;) {
      const auto ready = [&] { return stop_ || kicked_ || fullFront() || expire_.has_value(); };
      if (lazy_) {
        // A deadline, not a wait per round: expiry slices (which make ready() true) must not
        // hold journaled batches back (lookups wait for their commit).
        const auto now = std::chrono::steady_clock::now();
        if (!lazy_due_) {
          lazy_due_ = now + std::chrono::milliseconds(kCommitEveryMs);
        }
        if (now < *lazy_due_) {
          cv_.wait_until(lk, *lazy_due_, ready);
        }
        if (std::chrono::steady_clock::now() >= *lazy_due_) {
          kicked_ = true;  // journaled batches: their commit is due
        }
      } else {
        cv_.wait(lk, [&] { return ready() || lazy_; });
        if (lazy_ && !ready()) {
          continue;  // kick() started the timer
        }
      }
      if (kicked_ || fullFront() || (stop_ && !groups_.empty())) {
        if (kicked_ && !stop_ && opts_.batch_delay_ms > 0 && !fullFront()) {
          // store.batch_delay: more writes may join the batch meanwhile.
          cv_.wait_for(lk, std::chrono::milliseconds(opts_.batch_delay_ms),
                       [&] { return stop_ || fullFront(); });
        }
        // A kick (or stopping) takes everything queued so far; otherwise only full batches go.
        const bool all = kicked_ || stop_;
        kicked_ = false;
        lazy_ = lazy_ && !all;
        if (!lazy_) {
          lazy_due_.reset();
        }
        size_t n = 0;
        while (n < groups_.size() && (all || groups_[n].count >= opts_.batch_max)) {
          ++n;
        }
        // A journaled batch that fails stays first in line (it was reported: it must be
        // committed) and is tried again at the next kick (the owner probes while it fails);
        // the batches behind it are refused unwritten, except journaled ones, which wait too.
        // Consecutive journaled batches are committed as one (one log write, one memtable pass).
        std::vector<Group> taken;
        taken.reserve(n);
        for (size_t k = 0; k < n; ++k) {
          taken.push_back(std::move(groups_.front()));
          groups_.pop_front();
        }
        std::deque<Group> kept;
        bool reported_any = false;
        for (size_t k = 0; k < taken.size();) {
          Group& g = taken[k];
          if (!kept.empty()) {
            if (g.journal_end != 0) {
              kept.push_back(std::move(g));
            } else {
              refuse(g, "an earlier batch is not written yet");
              reported_any = true;
            }
            ++k;
            continue;
          }
          size_t run = 1;
          uint64_t writes = g.count;  // (a commit holds store.batch_max writes at most)
          while (g.journal_end != 0 && k + run < taken.size() && taken[k + run].journal_end != 0 &&
                 writes + taken[k + run].count <= opts_.batch_max) {
            writes += taken[k + run].count;
            ++run;
          }
          lk.unlock();
          const rocksdb::Status st =
              run == 1 ? commit(wo, g.wb, g.bytes) : commitMerged(wo, &taken[k], run);
          lk.lock();
          for (size_t r = k; r < k + run; ++r) {
            Group& c = taken[r];
            if (st.ok()) {
              stats_.writes += c.count;
              stats_.bytes_written += c.bytes;
              if (c.journal_end != 0) {
                journal_->release(c.journal_end);
              } else {
                reported_ = std::max(reported_, c.last_ticket);
                done_.emplace_back(c.last_ticket, true);
                reported_any = true;
              }
            } else if (c.journal_end != 0 && !stop_) {
              last_error_ = st.ToString();
              done_.emplace_back(c.last_ticket, false);  // (already reported: says "failing")
              reported_any = true;
              kept.push_back(std::move(c));
            } else {
              last_error_ = st.ToString();
              stats_.failed_writes += c.count;
              reported_ = std::max(reported_, c.last_ticket);
              done_.emplace_back(c.last_ticket, false);
              reported_any = true;
            }
          }
          stats_.batches += st.ok() ? 1 : 0;
          k += run;
        }
        failing_.store(!kept.empty(), std::memory_order_relaxed);
        while (!kept.empty()) {
          groups_.push_front(std::move(kept.back()));
          kept.pop_back();
        }
        committed_.store(groups_.empty() ? next_ticket_ : groups_.front().first_ticket - 1,
                         std::memory_order_release);
        bool lookups_waiting = false;
        {
          std::lock_guard rl(rmu_);  // lookups waiting for these writes go on
          lookups_waiting = !rjobs_.empty();
        }
        if (lookups_waiting) {
          rcv_.notify_all();
        }
        if (reported_any) {  // (journaled batches were reported at kick(): no wake-up)
          lk.unlock();
          wakeOwner();
          lk.lock();
        }
        if (expire_ && !stop_) {
          expireSlice(lk, kExpireBusy);  // between rounds: a busy store expires too
        }
        continue;
      }
      if (expire_ && !stop_) {  // (a stop leaves the rest to the next start)
        // Short slices while journaled batches wait for their 2 ms deadline.
        expireSlice(lk, lazy_ ? kExpireBusy : kExpireIdle);
        continue;
      }
      if (stop_) {
        return;
      }
    }
  }

  // Runs a slice of the pending expiry (mu_ held on entry and exit); the request stays while
  // there is more to do.
  void expireSlice(std::unique_lock<std::mutex>& lk, size_t budget) {
    const Expire e = *expire_;
    lk.unlock();
    uint64_t mappings = 0, deliveries = 0;
    bool more = false;
    if (!broken_ && roomFor(0).ok()) {
      more = expireNow(e, budget, mappings, deliveries);
    }
    if (!more) {
      measureDisk();
    }
    lk.lock();
    if (!more && expire_ && expire_->now_ms == e.now_ms) {
      expire_.reset();
    }
    stats_.expired_mappings += mappings;
    stats_.expired_deliveries += deliveries;
    lk.unlock();
    wakeOwner();  // the owner's gauges (and tests) see the counts
    lk.lock();
  }

  // mu_ held: a batch reported failed without being written.
  void refuse(const Group& g, const char* why) {
    stats_.failed_writes += g.count;
    last_error_ = why;
    reported_ = std::max(reported_, g.last_ticket);
    done_.emplace_back(g.last_ticket, false);
  }

  // A full batch goes without a kick, unless a failed journaled batch waits first in line: that
  // one is tried again at the next kick only (the owner probes once a second), not in a loop.
  bool fullFront() const {
    return !groups_.empty() && groups_.front().count >= opts_.batch_max &&
           !failing_.load(std::memory_order_relaxed);
  }

  // One batch: refused here if the file system is full or read-only, before RocksDB sees it (a
  // log append that fails inside RocksDB leaves its log writer unusable, and Debian's build
  // asserts on its next use: from then on every batch is refused until a restart).
  rocksdb::Status commit(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch& wb, uint64_t bytes) {
    if (broken_) {
      return rocksdb::Status::IOError("store stopped after a failed write; restart to resume",
                                      broken_reason_);
    }
    if (rocksdb::Status room = roomFor(bytes); !room.ok()) {
      return room;
    }
    rocksdb::Status st = db_->Write(wo, &wb);
    if (!st.ok()) {
      broken_ = true;
      broken_reason_ = st.ToString();
    }
    return st;
  }

  // `n` batches as one: their records concatenated under one header (a WriteBatch is a 12-byte
  // header - sequence, count - and self-contained records).
  rocksdb::Status commitMerged(const rocksdb::WriteOptions& wo, Group* groups, size_t n) {
    constexpr size_t kHeader = 12;
    std::string rep;
    size_t size = kHeader;
    uint64_t bytes = 0;
    uint32_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      size += groups[i].wb.GetDataSize() - kHeader;
      bytes += groups[i].bytes;
      count += groups[i].wb.Count();
    }
    rep.reserve(size);
    rep.append(kHeader, '\0');
    for (size_t i = 0; i < n; ++i) {
      rep.append(groups[i].wb.Data(), kHeader, std::string::npos);
    }
    for (int b = 0; b < 4; ++b) {
      rep[8 + b] = static_cast<char>((count >> (8 * b)) & 0xFF);
    }
    rocksdb::WriteBatch wb(std::move(rep));
    return commit(wo, wb, bytes);
  }

  void wakeOwner() {
    if (opts_.wake) {
      opts_.wake();
    }
  }

  // A lookup sees every write reported before it was asked: with the journal those may not be
  // committed yet, so it waits for them (unless the store is failing: they may never be).
  void lookup(std::function<std::function<void()>()> job) {
    uint64_t need = 0;
    {
      std::lock_guard lk(mu_);
      need = reported_;
    }
    {
      std::lock_guard lk(rmu_);
      rjobs_.emplace_back(need, std::move(job));
    }
    rcv_.notify_one();
  }

  void readerLoop() {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    std::unique_lock lk(rmu_);
    for (;;) {
      rcv_.wait(lk, [&] {
        return rstop_ || (!rjobs_.empty() &&
                          (committed_.load(std::memory_order_acquire) >= rjobs_.front().first ||
                           failing_.load(std::memory_order_relaxed)));
      });
      if (rstop_) {
        return;  // stopping: lookups still queued have nobody to answer
      }
      auto job = std::move(rjobs_.front().second);
      rjobs_.pop_front();
      lk.unlock();
      lookups_.fetch_add(1, std::memory_order_relaxed);
      std::function<void()> done = job();
      lk.lock();
      rdone_.push_back(std::move(done));
      lk.unlock();
      wakeOwner();
      lk.lock();
    }
  }

  std::optional<StoredMapping> getMapping(uint64_t gateway_id, uint64_t now_ms, uint64_t ttl_ms,
                                          bool& ok) {
    std::string v;
    if (const rocksdb::Status st = db_->Get(rocksdb::ReadOptions(), mappingKey(gateway_id), &v);
        !st.ok()) {
      ok = ok && st.IsNotFound();
      return std::nullopt;
    }
    std::optional<StoredMapping> m = decodeMapping(gateway_id, v);
    if (!m || m->created_ms + ttl_ms <= now_ms) {
      return std::nullopt;  // (expired: not yet removed)
    }
    return m;
  }

  // One slice of expiry; true if it ran out of budget (more may be due).
  bool expireNow(const Expire& e, size_t budget, uint64_t& mappings, uint64_t& deliveries) {
    rocksdb::WriteBatch wb;
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek("g"); it->Valid() && budget > 0; it->Next(), --budget) {
        const std::string_view k = view(it->key());
        if (k.size() != 9 || k[0] != 'g') {
          break;
        }
        const uint64_t id = getBE64(k.data() + 1);
        auto m = decodeMapping(id, view(it->value()));
        if (m && m->created_ms + e.mapping_ttl_ms > e.now_ms) {
          break;  // age order: the rest are younger
        }
        wb.Delete(it->key());
        if (m) {
          // The carrier id may belong to a newer mapping by now: only remove it if it is this one.
          const std::string ck = carrierKey(m->upstream, m->upstream_key);
          std::string gid;
          if (db_->Get(rocksdb::ReadOptions(), carrier_, ck, &gid).ok() && gid.size() == 8 &&
              getBE64(gid.data()) == id) {
            wb.Delete(carrier_, ck);
          }
        }
        ++mappings;
      }
    }
    // Outbox deliveries and store_and_forward messages past delivery_ttl (both values start with
    // their creation time). Per name in id (age) order: at the first young one, on to the next
    // name. A queued message gets a minute's grace: the process holding it sends its EXPIRED
    // receipt first.
    auto expireNamed = [&](char tag, uint64_t ttl_ms) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      it->Seek(std::string(1, tag));
      while (it->Valid() && budget > 0) {
        const std::string_view k = view(it->key());
        if (k.empty() || k[0] != tag || k.size() < 10) {
          break;
        }
        const std::string_view v = view(it->value());
        if (v.size() >= 8 && getBE64(v.data()) + ttl_ms > e.now_ms) {
          std::string next(k.substr(0, k.size() - 9));
          next.push_back('\x01');
          it->Seek(next);
          continue;
        }
        wb.Delete(it->key());
        ++deliveries;
        --budget;
        it->Next();
      }
    };
    expireNamed('o', e.delivery_ttl_ms);
    expireNamed('q', e.delivery_ttl_ms + 60'000);
    if (wb.Count() > 0) {
      rocksdb::WriteOptions wo;
      wo.sync = opts_.sync;
      if (const rocksdb::Status st = db_->Write(wo, &wb); !st.ok()) {
        mappings = deliveries = 0;
        broken_ = true;  // as for any write RocksDB refused (see commit())
        broken_reason_ = st.ToString();
      }
    }
    return budget == 0;
  }

  // Whether the file system takes `bytes` more and keeps store.min_free_bytes free (RocksDB's
  // flushes and compactions need room of their own), and is writable at all.
  rocksdb::Status roomFor(uint64_t bytes) {
    // A statvfs per batch at most every 20 ms while far from the limit.
    const auto now = std::chrono::steady_clock::now();
    if (room_ok_until_ > now && bytes < room_margin_) {
      room_margin_ -= bytes;
      return rocksdb::Status::OK();
    }
    struct statvfs v {};
    if (::statvfs(opts_.path.c_str(), &v) != 0) {
      return rocksdb::Status::IOError("statvfs", std::strerror(errno));
    }
    if ((v.f_flag & ST_RDONLY) != 0) {
      return rocksdb::Status::IOError(opts_.path, "read-only file system");
    }
    const uint64_t free = uint64_t{v.f_bavail} * v.f_frsize;
    room_ok_until_ = {};
    if (free >= opts_.min_free_bytes + bytes + (64u << 20)) {
      room_margin_ = free - opts_.min_free_bytes - bytes - (32u << 20);
      room_ok_until_ = now + std::chrono::milliseconds(20);
    }
    if (free < opts_.min_free_bytes + bytes) {
      return rocksdb::Status::NoSpace(opts_.path, std::to_string(free) + " bytes free, " +
                                                      std::to_string(opts_.min_free_bytes) +
                                                      " kept free (store.min_free_bytes)");
    }
    return rocksdb::Status::OK();
  }

  void measureDisk() {
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(opts_.path, ec)) {
      if (f.is_regular_file(ec)) {
        total += f.file_size(ec);
      }
    }
    disk_bytes_.store(total, std::memory_order_relaxed);
  }

  void scanOpenInfo() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekForPrev(std::string("g") + std::string(8, '\xff'));
    if (it->Valid() && it->key().size() == 9 && it->key()[0] == 'g') {
      info_.max_gateway_id = getBE64(it->key().data() + 1);
    }
    // Every outbox and store_and_forward key (counts per name, the newest id): one pass at open.
    auto count = [&](char tag, std::vector<std::pair<std::string, uint64_t>>& per_name,
                     uint64_t& max_id) {
      for (it->Seek(std::string(1, tag)); it->Valid(); it->Next()) {
        const std::string_view k = view(it->key());
        if (k.empty() || k[0] != tag) {
          break;
        }
        if (k.size() < 10) {
          continue;
        }
        const std::string_view name = k.substr(1, k.size() - 10);
        if (per_name.empty() || per_name.back().first != name) {
          per_name.emplace_back(std::string(name), 0);
        }
        ++per_name.back().second;
        max_id = std::max(max_id, getBE64(k.data() + k.size() - 8));
      }
    };
    count('o', info_.outboxes, info_.max_delivery_id);
    count('q', info_.queues, info_.max_queued_id);
  }

  StoreOptions opts_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // [0] default, [1] carrier (owned)
  rocksdb::ColumnFamilyHandle* carrier_ = nullptr;
  bool broken_ = false;  // a write failed inside RocksDB (writer thread only)
  std::chrono::steady_clock::time_point room_ok_until_{};  // roomFor's last good answer
  uint64_t room_margin_ = 0;
  std::string broken_reason_;
  OpenInfo info_;

  // Writer side (and the write completions).
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Group> groups_;
  uint64_t next_ticket_ = 0;
  bool stop_ = false;
  bool kicked_ = false;  // the owner said: write what is queued
  bool lazy_ = false;    // journaled batches wait for their commit (at most kCommitEveryMs)
  std::optional<std::chrono::steady_clock::time_point> lazy_due_;  // (writer thread only)
  uint64_t reported_ = 0;               // every ticket up to it is reported to the owner (done_)
  std::atomic<uint64_t> committed_{0};  // every ticket up to it is in the engine (or refused)
  std::atomic<bool> failing_{false};    // a journaled batch failed: journal nothing new
  std::unique_ptr<Journal> journal_;
  std::optional<Expire> expire_;
  std::deque<std::pair<uint64_t, bool>> done_;
  StoreStats stats_;
  std::string last_error_;
  std::atomic<uint64_t> disk_bytes_{0};

  // Reader side.
  std::mutex rmu_;
  std::condition_variable rcv_;
  std::deque<std::pair<uint64_t, std::function<std::function<void()>()>>> rjobs_;
  std::deque<std::function<void()>> rdone_;
  size_t pages_out_ = 0;  // readUnindexed pages in rdone_
  bool rstop_ = false;
  std::atomic<uint64_t> lookups_{0};

  std::thread writer_;
  std::thread reader_;
};

}  // namespace

std::unique_ptr<Store> openEmbedded(const StoreOptions& options, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) {
    error = options.path + ": " + ec.message();
    return nullptr;
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // The carrier family's hash memtable takes no concurrent writers (there is one writer).
  o.allow_concurrent_memtable_write = false;
  o.max_background_jobs = 2;
  o.write_buffer_size = 8u << 20;
  o.max_write_buffer_number = 3;
  o.max_total_wal_size = 256u << 20;
  o.keep_log_file_num = 2;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // No preallocated log space: a full disk fails the next batch (and is reported) instead of
  // after tens of megabytes written into space reserved earlier.
  o.allow_fallocate = false;
  rocksdb::BlockBasedTableOptions t;
  // Receipts look up carrier ids that are often absent (another carrier's, expired): a filter
  // answers most of those without reading a block.
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.block_cache = rocksdb::NewLRUCache(64u << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  rocksdb::ColumnFamilyOptions carrier(o);
  // Whole keys up to 64 bytes hash to their bucket (upstream names and carrier ids are short).
  carrier.prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(64));
  // 128k buckets (1 MiB of bucket array) for a 16 MiB memtable of ~250k carrier ids.
  carrier.write_buffer_size = 16u << 20;
  carrier.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1u << 17));
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(o)}, {"carrier", carrier}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  // Opening replays the log into the memtables on this thread: without the per-thread perf
  // counters (a thread-local lookup per key comparison), as on the store's own threads.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  const rocksdb::Status st =
      rocksdb::DB::Open(rocksdb::DBOptions(o), options.path, families, &handles, &raw);
  if (!st.ok()) {
    error = options.path + ": " + st.ToString();
    return nullptr;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  auto fail = [&](std::string why) -> std::unique_ptr<Store> {
    error = std::move(why);
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      db->DestroyColumnFamilyHandle(h);
    }
    return nullptr;
  };
  OpenInfo opened;
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  // What the last process left in a journal is committed before anything else.
  auto replay = [&](Journal& j) -> std::string {
    rocksdb::Status rs;
    const bool whole = j.replay([&](std::string_view rec) {
      rocksdb::WriteBatch wb{std::string(rec)};
      rs = db->Write(wo, &wb);
      opened.journal_replayed += rs.ok() ? 1 : 0;
      return rs.ok();
    });
    if (!rs.ok()) {
      return j.path() + ": replaying into " + options.path + ": " + rs.ToString();
    }
    if (!whole) {
      // Not silently past it: what follows would be lost, and new records would go behind it.
      return j.path() + ": holds a record this version did not write; " +
             "move the file away to start without it";
    }
    return {};
  };
  // The journal directory the last process used (kJournalKey): if store.journal changed since,
  // what a crash left in the old one is committed too, then that file is removed.
  const rocksdb::Slice journal_key(kJournalKey.data(), kJournalKey.size());
  std::string last_dir;
  if (const rocksdb::Status lj = db->Get(rocksdb::ReadOptions(), journal_key, &last_dir);
      !lj.ok() && !lj.IsNotFound()) {
    return fail(options.path + ": reading the journal's directory: " + lj.ToString());
  }
  const std::string dir_now = options.sync ? std::string() : options.journal_dir;
  std::error_code fs_error;  // (an old directory that cannot be read holds nothing for us)
  if (!last_dir.empty() && last_dir != options.journal_dir &&
      std::filesystem::exists(Journal::pathFor(last_dir, options.path), fs_error)) {
    std::string jerr;
    std::unique_ptr<Journal> old =
        Journal::open(last_dir, options.path, options.journal_bytes, jerr);
    if (!old) {
      return fail("journal " + jerr);
    }
    if (std::string why = replay(*old); !why.empty()) {
      return fail(why);
    }
    old->unlink();
    opened.journal_moved_from = last_dir;
  }
  // The journal is opened after the database (whose lock keeps a second process out).
  std::unique_ptr<Journal> journal;
  if (!options.journal_dir.empty()) {
    std::string jerr;
    journal = Journal::open(options.journal_dir, options.path, options.journal_bytes, jerr);
    if (!journal) {
      return fail("journal " + jerr);
    }
    if (std::string why = replay(*journal); !why.empty()) {
      return fail(why);
    }
    if (options.sync) {
      journal->unlink();  // store.sync answers after the engine's fsync: no journal
      journal.reset();
    }
  }
  if (last_dir != dir_now) {
    if (const rocksdb::Status pj = db->Put(wo, journal_key, dir_now); !pj.ok()) {
      return fail(options.path + ": recording the journal's directory: " + pj.ToString());
    }
  }
  if (journal) {
    opened.journal = journal->path();
  }
  if (const rocksdb::Status ri = readIndexMark(*db, options.sync, opened.index_mark); !ri.ok()) {
    return fail(options.path + ": reading the index mark: " + ri.ToString());
  }
  return std::make_unique<RocksStore>(options, std::move(db), std::move(handles),
                                      std::move(journal), std::move(opened));
}

}  // namespace smppgw::store
