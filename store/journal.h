#pragma once
// The shared-memory journal in front of the embedded store: a ring of records in a file on a
// memory file system (/dev/shm by default), mapped shared into the process. A record copied in
// is durable against a crash of the process (the file outlives it) without a system call, a
// disk, or a wait for another thread: the loop copies a batch in and may answer at once, while
// the writer thread commits the same batch to the engine and then releases its room. At the next
// start, records still in the ring (the process died before committing them) are replayed into
// the engine before anything is served (docs/architecture.md, "The journal").
//
// Not against power loss or a reboot (memory): that is store.sync, which does not use it.
//
// Layout: a 4 KiB header (magic, capacity, the store's path, head and tail) and the ring. Head
// and tail are byte counts that only grow (position = count % capacity). A record is a 4-byte
// length and its bytes, 8-byte aligned; one that does not fit before the end of the ring leaves
// a wrap mark and starts at its beginning. The tail is published after the bytes (release), so a
// crash mid-copy leaves a record that was never there.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace smppgw::store {

class Journal {
  struct Key {};  // only open() makes one

 public:
  // Opens (or creates) the journal of the store at `store_path` in directory `dir`, `capacity`
  // bytes of ring (allocated in full now: a memory file system that is too small fails here, not
  // with a fault later). nullptr and `error` set on failure.
  static std::unique_ptr<Journal> open(const std::string& dir, const std::string& store_path,
                                       size_t capacity, std::string& error);
  // The file open() uses for that store in that directory.
  static std::string pathFor(const std::string& dir, const std::string& store_path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }

  // Owner's thread. The end offset of the record (release() it once committed), or 0 if there
  // is no room (the caller waits for the commit instead).
  uint64_t append(std::string_view record);
  // Writer's thread: everything up to `end` (an append() result) is in the engine.
  void release(uint64_t end);

  // At open, before append(): the records left by the previous process, oldest first. Stops at
  // the first `apply` that returns false (that record and the rest stay).
  bool replay(const std::function<bool(std::string_view)>& apply);
  size_t pending() const;  // records' bytes not yet released
  // Removes the file (at a clean stop with nothing pending).
  void unlink();

  Journal(Key, std::string path, int fd, std::byte* base, size_t mapped, size_t capacity);

 private:
  struct Header;
  Header& header() const;
  std::byte* ring() const;

  std::string path_;
  int fd_;
  std::byte* base_;
  size_t mapped_;
  size_t capacity_;
  uint64_t tail_ = 0;  // the owner's copy of the header's tail
};

}  // namespace smppgw::store
