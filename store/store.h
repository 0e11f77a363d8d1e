#pragma once
// The durable store: what must survive a restart, a crash or a deploy. Id mappings (a receipt can
// come days after its submit_sm) and per-customer outboxes (receipts and MO waiting for a
// customer's receiver). The in-memory MappingStore stays the hot cache in front of it; this is the
// copy that outlives the process.
//
// The interface is asynchronous and backend-neutral: nothing here names the engine (the embedded
// one is RocksDB, in rocks_store.cc; a shared one would implement the same calls), and its tests
// (tests/store/store_test.cc) run against the interface.
//
// Threads: every call is made on one thread (the gateway's loop) and never waits for a disk.
// Writes are queued and committed in order, in batches, by the backend's own writer thread
// (group commit: what was queued when the owner calls kick()); lookups run on its reader thread.
// When results are ready the backend calls `wake` (from its thread: it must be thread-safe, e.g.
// uv_async_send) and the owner calls poll() on its own thread, where every completion and callback
// runs.
//
// Durability: a write is reported done once the batch holding it is in the shared-memory journal
// (at kick(), when the store has one) or in the engine's write-ahead log: against a process crash
// (kill -9) every reported write survives. With `sync` (no journal) each batch is also fsync'd
// before it is reported: power loss too.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smppgw::store {

// A mapping as stored: by names, not the gateway's runtime ids (those change across restarts and
// reloads).
struct StoredMapping {
  uint64_t gateway_id = 0;
  uint64_t created_ms = 0;
  uint8_t registered_delivery = 0;
  std::string customer;  // customers[].name
  std::string upstream;  // upstreams[].name
  std::string upstream_id;
  std::string upstream_key;  // normalised carrier id (what receipts are looked up by)
  std::string source_addr;
  std::string destination_addr;
};

// What putMapping() writes: the same fields, viewed (nothing is copied until the write is queued).
struct MappingRecord {
  uint64_t gateway_id = 0;
  uint64_t created_ms = 0;
  uint8_t registered_delivery = 0;
  std::string_view customer;
  std::string_view upstream;
  std::string_view upstream_id;
  std::string_view upstream_key;
  std::string_view source_addr;
  std::string_view destination_addr;
};

// A carrier-id index entry for a mapping written without one (putMapping with index=false).
struct IndexEntry {
  uint64_t gateway_id = 0;
  std::string_view upstream;
  std::string_view upstream_key;
};

inline MappingRecord recordOf(const StoredMapping& m) {
  return {m.gateway_id,  m.created_ms,   m.registered_delivery, m.customer,        m.upstream,
          m.upstream_id, m.upstream_key, m.source_addr,         m.destination_addr};
}

// A delivery (receipt or MO) waiting in a customer's outbox.
struct StoredDelivery {
  uint64_t id = 0;  // unique and increasing in arrival order (the outbox's order)
  uint64_t created_ms = 0;
  uint32_t command = 0;        // deliver_sm or data_sm
  uint8_t version_needed = 0;  // lowest interface version its TLVs allow without re-encoding
  std::string pdu;             // as a v5.0 receiver gets it (its sequence number is set on send)
};

// A message accepted with ack_mode store_and_forward, waiting in its group's queue for a carrier
// to take it.
struct QueuedMessage {
  uint64_t gateway_id = 0;  // the customer has it already; queue order
  uint64_t created_ms = 0;
  std::string customer;     // customers[].system_id
  std::string destination;  // as routed (normalised)
  std::string pdu;          // the customer's submit_sm/data_sm, as received
};

struct StoreOptions {
  std::string path;             // directory (created if missing)
  bool sync = false;            // fsync every batch (power loss), not just write it (process crash)
  uint32_t batch_max = 256;     // writes per batch at most
  uint32_t batch_delay_ms = 0;  // a batch below batch_max waits this long for more
  // A batch is refused (reported failed, nothing written) when it would leave less than this
  // free on the file system, or when the file system is read-only.
  uint64_t min_free_bytes = 256ull << 20;
  // The shared-memory journal's directory ("" none): a batch copied there is reported done at
  // once (durable against a crash of the process) and committed after (store/journal.h). With
  // `sync` what it holds from an earlier run is committed at open, then it is removed and unused.
  std::string journal_dir;
  size_t journal_bytes = 16u << 20;
  std::function<void()> wake;  // called from the backend's threads when poll() has work
};

struct StoreStats {
  uint64_t batches = 0;        // committed
  uint64_t writes = 0;         // committed (mappings, deliveries, removals)
  uint64_t failed_writes = 0;  // in batches the engine refused (disk full, I/O error)
  uint64_t bytes_written = 0;  // payload bytes handed to the engine
  uint64_t lookups = 0;
  uint64_t expired_mappings = 0;
  uint64_t expired_deliveries = 0;
  uint64_t journal_bytes = 0;  // in the journal, reported done, not yet committed (now)
  // Batches the journal had no room for: they were reported after their commit instead (a disk
  // write added to their answers). Growing: the engine does not keep up with the journal.
  uint64_t journal_full = 0;
};

// What was found when the store was opened.
struct OpenInfo {
  uint64_t max_gateway_id = 0;   // the newest mapping's id (new ids must be above it)
  uint64_t max_delivery_id = 0;  // the newest outbox delivery's id (likewise)
  uint64_t max_queued_id = 0;    // the newest store_and_forward message's id (likewise)
  // Non-empty outboxes: (customer, deliveries in it), by customer name.
  std::vector<std::pair<std::string, uint64_t>> outboxes;
  // Non-empty store_and_forward queues: (group, messages in it), by group name.
  std::vector<std::pair<std::string, uint64_t>> queues;
  // Every mapping written with index=false up to this gateway id is indexed (or needs no entry);
  // those above it are given back by readUnindexed().
  uint64_t index_mark = 0;
  // Batches the journal held at open (a crash left them uncommitted), committed before anything.
  uint64_t journal_replayed = 0;
  std::string journal;  // the journal file ("" none)
  // store.journal changed since the last open: this directory's journal was committed first.
  std::string journal_moved_from;
};

// Receives write outcomes, in ticket order, from poll().
class StoreListener {
 public:
  // Every write with a ticket <= `ticket` not reported before is now durable (ok) or was not stored
  // (!ok: the engine refused the batch; the reason is in lastError()).
  virtual void writesDone(uint64_t ticket, bool ok) = 0;

 protected:
  ~StoreListener() = default;
};

class Store {
 public:
  virtual ~Store() = default;  // commits what is queued, then stops the threads

  virtual const OpenInfo& openInfo() const = 0;

  // Writes, applied in call order. Each returns its ticket (1, 2, 3...); the listener learns when
  // it is durable. A later mapping for the same (upstream, upstream_key) replaces the earlier one
  // for lookups by carrier id (the newest submit owns its receipts).
  //
  // The lookup by carrier id can be written later: putMapping(m, false) stores the mapping (found
  // by gateway id at once) and leaves its carrier-id entry to indexMappings(), or to none when the
  // message's final receipt has come and gone by then. `through` says that every mapping written
  // with index=false and a gateway id <= through is indexed or needs no index (written with the
  // entries, in one batch). After a restart, readUnindexed() gives back every mapping above
  // the last durable `through` (a crash loses no index entry: the owner indexes them again).
  virtual uint64_t putMapping(const MappingRecord& m, bool index) = 0;
  virtual uint64_t indexMappings(std::span<const IndexEntry> entries, uint64_t through) = 0;
  // The mappings above OpenInfo::index_mark, in gateway id order, in pages of `page` (callbacks
  // from poll(), the last one with last=true), read on the reader thread: every lookup asked
  // after this call is answered after its last page (so the owner has them in memory by then).
  // ok=false (with last=true): the engine could not be read to the end.
  using UnindexedCallback = std::function<void(std::vector<StoredMapping>, bool last, bool ok)>;
  virtual void readUnindexed(size_t page, UnindexedCallback cb) = 0;
  virtual uint64_t putDelivery(std::string_view customer, const StoredDelivery& d) = 0;
  virtual uint64_t removeDelivery(std::string_view customer, uint64_t id) = 0;
  virtual uint64_t putQueued(std::string_view group, const QueuedMessage& m) = 0;
  virtual uint64_t removeQueued(std::string_view group, uint64_t gateway_id) = 0;
  // A store_and_forward message leaves its queue in one write with what it left as, so a crash
  // leaves it queued or done, never both (sent to the carrier again) nor neither: the mapping of
  // a carrier's acceptance (indexed at once), or its final receipt put in `customer`'s outbox.
  virtual uint64_t dequeueWithMapping(std::string_view group, const MappingRecord& m) = 0;
  virtual uint64_t dequeueWithDelivery(std::string_view group, uint64_t gateway_id,
                                       std::string_view customer, const StoredDelivery& d) = 0;
  // A marker write that changes nothing: whether the store takes writes again after a failure.
  virtual uint64_t probe() = 0;
  virtual uint64_t lastTicket() const = 0;
  // Starts committing what is queued (after store.batch_delay, if set). The owner calls it once
  // per burst of writes (the gateway: at the end of a loop iteration that wrote), so one batch
  // and one wake-up carry a whole iteration's writes. A full batch (batch_max) goes without it.
  // With a journal, the batches it takes are reported done by the next poll() (call it right
  // after) and committed later, several at once.
  virtual void kick() = 0;

  // Lookups (the reader thread; callbacks from poll()). Mappings older than `ttl_ms` are not
  // found. A lookup sees the writes already reported done; one still queued may be missed (the
  // hot cache in front of the store has it).
  // ok=false: the engine could not be read (an I/O error), which is not "not found".
  using MappingCallback = std::function<void(std::optional<StoredMapping>, bool ok)>;
  virtual void findByGatewayId(uint64_t gateway_id, uint64_t now_ms, uint64_t ttl_ms,
                               MappingCallback cb) = 0;
  virtual void findByUpstream(std::string upstream, std::string upstream_key, uint64_t now_ms,
                              uint64_t ttl_ms, MappingCallback cb) = 0;
  // Up to `max` deliveries of the customer's outbox with id > after_id, in order. ok=false: the
  // engine could not be read.
  using OutboxCallback = std::function<void(std::vector<StoredDelivery>, bool ok)>;
  virtual void readOutbox(std::string customer, uint64_t after_id, size_t max,
                          OutboxCallback cb) = 0;

  // Up to `max` messages of a group's store_and_forward queue with gateway id > after_id, in
  // order.
  using QueueCallback = std::function<void(std::vector<QueuedMessage>, bool ok)>;
  virtual void readQueue(std::string group, uint64_t after_id, size_t max, QueueCallback cb) = 0;

  // Removes mappings older than mapping_ttl and deliveries older than delivery_ttl (on the
  // writer thread, a bounded amount per call; counted in stats()).
  virtual void expire(uint64_t now_ms, uint64_t mapping_ttl_ms, uint64_t delivery_ttl_ms) = 0;

  // Runs what the threads finished: listener->writesDone and lookup callbacks.
  virtual void poll(StoreListener& listener) = 0;

  virtual StoreStats stats() const = 0;
  virtual std::string lastError() const = 0;
  // Bytes the engine holds on disk (approximate).
  virtual uint64_t diskBytes() const = 0;
};

// The embedded backend (RocksDB). nullptr and `error` set if the directory cannot be opened.
std::unique_ptr<Store> openEmbedded(const StoreOptions& options, std::string& error);

}  // namespace smppgw::store
