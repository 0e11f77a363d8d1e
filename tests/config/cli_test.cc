#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/cli.h"
#include "config/password.h"

using namespace smppgw::config;

namespace {

struct Run {
  int code = 0;
  std::string out;
  std::string err;
};

Run checkConfig(std::vector<std::string_view> args) {
  std::ostringstream out;
  std::ostringstream err;
  Run r;
  r.code = runCheckConfig(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

Run hash(std::vector<std::string_view> args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out;
  std::ostringstream err;
  Run r;
  r.code = runHashPassword(args, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string writeTemp(const std::string& name, const std::string& text) {
  std::string path = std::string(SMPPGW_BINARY_DIR) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("check-config: OK config prints verdict, summary and routes table") {
  const std::string file = std::string(SMPPGW_SOURCE_DIR) + "/deploy/examples/production.json";
  Run r = checkConfig({file});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find(file + ": OK (") != std::string::npos);
  CHECK(r.out.find("sha256 ") != std::string::npos);
  CHECK(r.out.find("customers  3") != std::string::npos);
  CHECK(r.out.find("routes (first match wins):") != std::string::npos);
  CHECK(r.out.find("block-premium-rate") != std::string::npos);
  CHECK(r.out.find("reject ESME_RINVDSTADR (0x0000000B)") != std::string::npos);
  CHECK(r.out.find("mo_routes (first match wins):") != std::string::npos);
  Run quiet = checkConfig({file, "--quiet"});
  CHECK(quiet.code == 0);
  CHECK(quiet.out.find("routes (first match wins)") == std::string::npos);
}

TEST_CASE("check-config: errors give exit 1 and every diagnostic") {
  const std::string file = writeTemp("cli_bad.json", R"({
    "listeners": [{"name": "l", "port": 2775}],
    "routes": [{"action": {"group": "eu-tier1"}}], "bogus": 1})");
  Run r = checkConfig({file});
  CHECK(r.code == 1);
  CHECK(r.out.find("error: routes[0].action.group: unknown group \"eu-tier1\" (known: none)") !=
        std::string::npos);
  CHECK(r.out.find("error: bogus: unknown key") != std::string::npos);
  CHECK(r.out.find("warning: customers: no customers") != std::string::npos);
  CHECK(r.out.find(": INVALID (2 errors, 2 warnings)") != std::string::npos);
}

TEST_CASE("check-config: usage errors give exit 2") {
  CHECK(checkConfig({}).code == 2);
  CHECK(checkConfig({"a.json", "b.json"}).code == 2);
  CHECK(checkConfig({"--frobnicate", "a.json"}).code == 2);
  CHECK(checkConfig({"--help"}).code == 0);
  Run missing = checkConfig({"/nonexistent.json"});
  CHECK(missing.code == 1);
  CHECK(missing.out.find("cannot open") != std::string::npos);
}

TEST_CASE("hash-password: argument, stdin, iterations, usage") {
  Run a = hash({"--iterations", "1000", "s3cret"});
  CHECK(a.code == 0);
  REQUIRE(a.out.size() > 1);
  std::string h = a.out.substr(0, a.out.size() - 1);
  CHECK(a.out.back() == '\n');
  CHECK(h.rfind("pbkdf2-sha256$1000$", 0) == 0);
  CHECK(verifyPassword(h, "s3cret"));

  Run s = hash({"--iterations", "1000"}, "from-stdin\r\nsecond line\n");
  CHECK(s.code == 0);
  CHECK(verifyPassword(s.out.substr(0, s.out.size() - 1), "from-stdin"));
  CHECK(s.err.find("at most 8") != std::string::npos);  // 10 characters: warned, not refused

  CHECK(hash({}, "").code == 2);  // empty password
  CHECK(hash({"--iterations"}).code == 2);
  CHECK(hash({"--iterations", "5", "x"}).code == 2);
  CHECK(hash({"--iterations", "abc", "x"}).code == 2);
  CHECK(hash({"a", "b"}).code == 2);
  CHECK(hash({"--bogus"}).code == 2);
  CHECK(hash({"--help"}).code == 0);
}
