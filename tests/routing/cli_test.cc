#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <sstream>
#include <vector>

#include "routing/cli.h"

using namespace smppgw::routing;

namespace {

struct Run {
  int code = 0;
  std::string out;
  std::string err;
};

Run route(std::vector<std::string_view> args) {
  std::ostringstream out;
  std::ostringstream err;
  Run r;
  r.code = runRoute(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

const std::string kProduction = std::string(SMPPGW_SOURCE_DIR) + "/deploy/examples/production.json";

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("route explains the matching rule, group and member order") {
  Run r = route({kProduction, "--customer", "acme", "--to", "07700900123", "--from", "ACME"});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(
      has(r.out, "destination: \"07700900123\" (ton 0, npi 0) -> \"447700900123\" (ton 1, npi 1)"));
  CHECK(has(r.out, "decision: routes[2] \"uk-mobile\" -> group uk-failover, ack_mode transparent"));
  CHECK(has(r.out, "  1. carrier-a"));
  CHECK(has(r.out, "  2. carrier-b"));
  CHECK(has(r.out, "(2 earlier rules did not match; --verbose says why)"));
}

TEST_CASE("route --verbose says why each earlier rule did not match") {
  Run r = route(
      {kProduction, "--customer", "acme", "--to", "+447700900123", "--from", "ACME", "--verbose"});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(has(r.out,
            "routes[0] \"block-premium-rate\": no match: destination \"447700900123\" has "
            "none of the prefixes [449, 4470]"));
  CHECK(has(r.out,
            "routes[1] \"block-spoofed-senders\": no match: source \"ACME\" does not match "
            "/^(BANK|HMRC|PAYPAL)/"));
  CHECK(has(r.out, "routes[2] \"uk-mobile\": MATCH"));
}

TEST_CASE("route shows rejects, default routes and unroutable messages") {
  Run spoof = route({kProduction, "--customer", "acme", "--to", "33612345678", "--from", "BANKX"});
  CHECK(spoof.code == 0);
  CHECK(has(spoof.out, "-> reject ESME_RINVSRCADR (0x0000000A)"));
  Run def = route({kProduction, "--customer", "billing", "--to", "4930123456"});
  CHECK(has(def.out, "customer default_route -> group uk-failover"));
  Run none = route({kProduction, "--customer", "acme", "--to", "4830123456"});
  CHECK(has(none.out,
            "no default_route -> reject ESME_RINVDSTADR (0x0000000B) "
            "(routing.unroutable_status)"));
}

TEST_CASE("route --mo") {
  Run r = route(
      {kProduction, "--mo", "--upstream", "carrier-a", "--to", "84433", "--from", "+447700900001"});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(has(r.out, "decision: mo_routes[0] \"acme-shortcode\" -> customer acme"));
  Run other = route({kProduction, "--mo", "--upstream", "carrier-b", "--to", "84433"});
  CHECK(has(other.out, "\"everything-else\" -> reject ESME_RX_P_APPN (0x00000065)"));
}

TEST_CASE("route usage and config errors") {
  CHECK(route({}).code == 2);
  CHECK(route({kProduction, "--to", "44"}).code == 2);          // no --customer
  CHECK(route({kProduction, "--customer", "acme"}).code == 2);  // no --to
  CHECK(route({kProduction, "--customer", "nobody", "--to", "44"}).code == 2);
  CHECK(route({kProduction, "--customer", "acme", "--to", "44", "--listener", "x"}).code == 2);
  CHECK(route({kProduction, "--customer", "acme", "--to", "44", "--data-coding", "300"}).code == 2);
  CHECK(route({kProduction, "--customer", "acme", "--to", "44", "--bogus"}).code == 2);
  CHECK(route({kProduction, "--customer", "acme", "--to"}).code == 2);
  CHECK(route({"--help"}).code == 0);
  Run missing = route({"/nonexistent.json", "--customer", "a", "--to", "1"});
  CHECK(missing.code == 1);
  CHECK(has(missing.err, "cannot open"));
  Run dc = route({kProduction, "--customer", "acme", "--to", "447700900123", "--data-coding",
                  "0x08", "--listener", "public", "--service-type", "CMT", "--esm-class", "64"});
  CHECK(dc.code == 0);
  CHECK(has(dc.out, "service_type \"CMT\", data_coding 8, esm_class 64"));
}
