#include "store/journal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace smppgw::store {

namespace {
constexpr uint64_t kMagic = 0x6c6e726a77677073ull;  // "spgwjrnl", little-endian
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 4096;
constexpr size_t kMaxPath = 3072;
constexpr uint32_t kWrap = 0xFFFFFFFFu;  // the rest of the ring is unused: go on at its start

size_t padded(size_t n) {
  return (n + 7) & ~size_t{7};
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  }
  return h;
}
}  // namespace

struct Journal::Header {
  uint64_t magic;
  uint32_t version;
  uint32_t path_len;
  uint64_t capacity;
  std::atomic<uint64_t> head;  // released (committed) bytes
  std::atomic<uint64_t> tail;  // appended bytes
  char path[kMaxPath];
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);  // (shared with the next process)

std::string Journal::pathFor(const std::string& dir, const std::string& store_path) {
  std::error_code ec;
  const std::string canonical = std::filesystem::weakly_canonical(store_path, ec).string();
  char name[64];
  std::snprintf(name, sizeof name, "/smppgw-journal-%016llx",
                static_cast<unsigned long long>(fnv1a(canonical)));
  return dir + name;
}

std::unique_ptr<Journal> Journal::open(const std::string& dir, const std::string& store_path,
                                       size_t capacity, std::string& error) {
  std::error_code ec;
  const std::string canonical = std::filesystem::weakly_canonical(store_path, ec).string();
  if (canonical.size() >= kMaxPath) {
    error = "store path too long for the journal";
    return nullptr;
  }
  std::filesystem::create_directories(dir,
                                      ec);  // (/dev/shm is there; a test's directory may not be)
  std::string path = pathFor(dir, store_path);
  capacity = padded(capacity);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return nullptr;
  }
  auto fail = [&](const char* what, int err) -> std::unique_ptr<Journal> {
    error = path + ": " + what + ": " + std::strerror(err);
    ::close(fd);
    return nullptr;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail("fstat", errno);
  }
  const size_t total = kHeaderBytes + capacity;
  const bool fresh = static_cast<size_t>(st.st_size) < kHeaderBytes;
  // Allocated in full now: a memory file system that runs out later would fault (SIGBUS) on a
  // store into a page it cannot back.
  if (const int err = ::posix_fallocate(
          fd, 0, static_cast<off_t>(std::max(total, static_cast<size_t>(st.st_size))));
      err != 0) {
    return fail("allocating", err);
  }
  const size_t mapped = std::max(total, static_cast<size_t>(st.st_size));
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    return fail("mmap", errno);
  }
  static_assert(sizeof(Header) <= kHeaderBytes);
  auto* base = static_cast<std::byte*>(p);
  auto* h = reinterpret_cast<Header*>(base);
  if (fresh || h->magic != kMagic) {
    std::memset(base, 0, kHeaderBytes);
    h->version = kVersion;
    h->capacity = capacity;
    h->path_len = static_cast<uint32_t>(canonical.size());
    std::memcpy(h->path, canonical.data(), canonical.size());
    h->head.store(0);
    h->tail.store(0);
    std::atomic_thread_fence(std::memory_order_release);
    h->magic = kMagic;
  } else if (h->version != kVersion ||
             std::string_view(h->path, std::min<size_t>(h->path_len, kMaxPath)) != canonical) {
    ::munmap(p, mapped);
    return fail("not this store's journal", EEXIST);
  } else if (h->capacity + kHeaderBytes > mapped) {
    ::munmap(p, mapped);
    return fail("truncated", EINVAL);
  } else if (h->capacity != capacity && h->head.load() == h->tail.load()) {
    h->capacity = capacity;  // empty: resized (the file keeps its larger size)
  }
  auto j = std::make_unique<Journal>(Key{}, std::move(path), fd, base, mapped, h->capacity);
  j->tail_ = h->tail.load(std::memory_order_acquire);
  return j;
}

Journal::Journal(Key, std::string path, int fd, std::byte* base, size_t mapped, size_t capacity)
    : path_(std::move(path)), fd_(fd), base_(base), mapped_(mapped), capacity_(capacity) {}

Journal::~Journal() {
  ::munmap(base_, mapped_);
  ::close(fd_);
}

Journal::Header& Journal::header() const {
  return *reinterpret_cast<Header*>(base_);
}

std::byte* Journal::ring() const {
  return base_ + kHeaderBytes;
}

uint64_t Journal::append(std::string_view record) {
  const size_t need = padded(4 + record.size());
  if (record.size() >= kWrap || need > capacity_ / 2) {
    return 0;
  }
  const uint64_t head = header().head.load(std::memory_order_acquire);
  uint64_t t = tail_;
  size_t pos = static_cast<size_t>(t % capacity_);
  size_t used = static_cast<size_t>(t - head);
  size_t skip = 0;
  if (pos + need > capacity_) {
    skip = capacity_ - pos;  // wrap: the record starts at the ring's beginning
  }
  if (used + skip + need > capacity_) {
    return 0;
  }
  if (skip != 0) {
    if (skip >= 4) {
      std::memcpy(ring() + pos, &kWrap, 4);
    }
    t += skip;
    pos = 0;
  }
  const auto len = static_cast<uint32_t>(record.size());
  std::memcpy(ring() + pos, &len, 4);
  std::memcpy(ring() + pos + 4, record.data(), record.size());
  t += need;
  tail_ = t;
  header().tail.store(t, std::memory_order_release);
  return t;
}

void Journal::release(uint64_t end) {
  header().head.store(end, std::memory_order_release);
}

size_t Journal::pending() const {
  return static_cast<size_t>(header().tail.load(std::memory_order_acquire) -
                             header().head.load(std::memory_order_acquire));
}

bool Journal::replay(const std::function<bool(std::string_view)>& apply) {
  uint64_t h = header().head.load(std::memory_order_acquire);
  const uint64_t t = header().tail.load(std::memory_order_acquire);
  while (h < t) {
    const size_t pos = static_cast<size_t>(h % capacity_);
    uint32_t len = kWrap;
    if (capacity_ - pos >= 4) {
      std::memcpy(&len, ring() + pos, 4);
    }
    if (len == kWrap) {
      h += capacity_ - pos;
      continue;
    }
    if (pos + padded(4 + len) > capacity_ || h + padded(4 + len) > t) {
      return false;  // not a record this code wrote
    }
    if (!apply(std::string_view(reinterpret_cast<const char*>(ring() + pos + 4), len))) {
      header().head.store(h, std::memory_order_release);
      return false;
    }
    h += padded(4 + len);
  }
  header().head.store(t, std::memory_order_release);
  return true;
}

void Journal::unlink() {
  ::unlink(path_.c_str());
}

}  // namespace smppgw::store
