// The shared-memory journal on its own (store/journal.h): records come back in order after the
// owner goes away without releasing them, wrap around the ring, and never overrun what is not
// released.

#include "store/journal.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using smppgw::store::Journal;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("smppgw-journal-unit-" + std::to_string(::getpid()));
  Dir() { fs::remove_all(path); }
  ~Dir() { fs::remove_all(path); }
};

std::unique_ptr<Journal> openJournal(const Dir& d, const std::string& store, size_t capacity) {
  std::string err;
  auto j = Journal::open(d.path.string(), (d.path / store).string(), capacity, err);
  REQUIRE_MESSAGE(j != nullptr, err);
  return j;
}

std::vector<std::string> replayAll(Journal& j) {
  std::vector<std::string> out;
  CHECK(j.replay([&](std::string_view r) {
    out.emplace_back(r);
    return true;
  }));
  return out;
}

}  // namespace

TEST_CASE("journal: what was not released comes back in order at the next open, once") {
  Dir d;
  {
    auto j = openJournal(d, "db", 4096);
    CHECK(j->append("one") != 0);
    const uint64_t end2 = j->append("two");
    CHECK(j->append("three") != 0);
    j->release(end2);  // one and two are in the engine
    CHECK(j->pending() > 0);
  }  // the process goes away (the file stays)
  auto j = openJournal(d, "db", 4096);
  CHECK(replayAll(*j) == std::vector<std::string>{"three"});
  CHECK(j->pending() == 0);
  CHECK(replayAll(*j).empty());
}

TEST_CASE("journal: records wrap around the ring; a full ring refuses instead of overwriting") {
  Dir d;
  auto j = openJournal(d, "db", 1024);
  const std::string rec(200, 'x');
  uint64_t last = 0;
  int taken = 0;
  while (uint64_t end = j->append(rec + std::to_string(taken))) {
    last = end;
    ++taken;
  }
  CHECK(taken == 4);  // 208 bytes each (length and padding) in 1024
  j->release(last);   // all of them committed
  std::vector<uint64_t> ends;
  for (int i = 0; i < 10; ++i) {  // around the ring several times
    const uint64_t end = j->append(rec + "w" + std::to_string(i));
    REQUIRE(end != 0);
    ends.push_back(end);
    if (i >= 2) {
      j->release(ends[static_cast<size_t>(i - 2)]);  // two stay pending at a time
    }
  }
  j.reset();
  auto again = openJournal(d, "db", 1024);
  CHECK(replayAll(*again) == std::vector<std::string>{rec + "w8", rec + "w9"});
  CHECK(again->append(std::string(600, 'y')) == 0);  // more than half the ring: never fits
}

TEST_CASE("journal: another store's journal file is not used") {
  Dir d;
  {
    auto j = openJournal(d, "db", 4096);
    j->append("mine");
  }
  // Same directory, another store path: another file (its name is the path's hash).
  auto other = openJournal(d, "db2", 4096);
  CHECK(replayAll(*other).empty());
  other->unlink();
  CHECK_FALSE(fs::exists(other->path()));
  auto mine = openJournal(d, "db", 4096);
  CHECK(replayAll(*mine) == std::vector<std::string>{"mine"});
}
