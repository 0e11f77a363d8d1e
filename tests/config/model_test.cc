#include <doctest/doctest.h>

#include "string_view_maker.h"

#include "config/model.h"
#include "config/status.h"

using namespace smppgw::config;

TEST_CASE("CIDR parsing and matching, v4 and v6") {
  struct Case {
    const char* cidr;
    const char* ip;
    bool contains;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.1.2.3", true},
      {"10.0.0.0/8", "11.0.0.1", false},
      {"10.0.0.0/8", "::ffff:10.9.9.9", true},  // v4-mapped (dual-stack sockets)
      {"10.0.0.0/8", "2001:db8::1", false},
      {"192.168.1.7", "192.168.1.7", true},  // bare address = /32
      {"192.168.1.7", "192.168.1.8", false},
      {"0.0.0.0/0", "8.8.8.8", true},
      {"203.0.113.0/25", "203.0.113.127", true},
      {"203.0.113.0/25", "203.0.113.128", false},
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"2001:db8::/32", "10.0.0.1", false},
      {"::/0", "::1", true},
      {"::1", "::1", true},
      {"fe80::/10", "febf::1", true},
      {"fe80::/10", "fec0::1", false},
      {"2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1", true},
      {"::ffff:0:0/96", "::ffff:1.2.3.4", true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.cidr);
    CAPTURE(c.ip);
    auto parsed = Cidr::parse(c.cidr);
    REQUIRE(parsed.has_value());
    CHECK(parsed->contains(c.ip) == c.contains);
  }
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0", "1.2.3.4.5", "256.0.0.1",
                          "01.2.3.4", "1.2.3.4/x", "::1::", "1:2:3:4:5:6:7:8:9",
                          "12345::", "2001:db8::/129", "g::1", ":1", "1:", "1.2.3.4:5"}) {
    CAPTURE(bad);
    CHECK_FALSE(Cidr::parse(bad).has_value());
  }
  bool hostBits = false;
  auto c = Cidr::parse("10.1.2.3/8", nullptr, &hostBits);
  REQUIRE(c);
  CHECK(hostBits);
  CHECK(c->toString() == "10.0.0.0/8");
  CHECK(Cidr::parse("2001:db8::1/32")->toString() == "2001:db8:0:0:0:0:0:0/32");
  CHECK_FALSE(Cidr::parse("10.0.0.0/8")->contains("not an ip"));
}

TEST_CASE("sender patterns: exact and glob") {
  SourcePattern exact{"ACME", false};
  CHECK(exact.matches("ACME"));
  CHECK_FALSE(exact.matches("ACME1"));
  SourcePattern star{"ACME-*", true};
  CHECK(star.matches("ACME-"));
  CHECK(star.matches("ACME-news"));
  CHECK_FALSE(star.matches("ACME"));
  SourcePattern q{"4470000000?", true};
  CHECK(q.matches("44700000001"));
  CHECK_FALSE(q.matches("4470000000"));
  CHECK_FALSE(q.matches("447000000012"));
  SourcePattern mid{"*BANK*", true};
  CHECK(mid.matches("MYBANKUK"));
  CHECK_FALSE(mid.matches("BAN"));
  Customer c;
  CHECK(c.sourceAllowed("anything"));
  c.allowed_sources = {exact, q};
  CHECK(c.sourceAllowed("ACME"));
  CHECK_FALSE(c.sourceAllowed("EVIL"));
  c.source_networks = {*Cidr::parse("10.0.0.0/8")};
  CHECK(c.networkAllowed("10.2.3.4"));
  CHECK_FALSE(c.networkAllowed("192.168.0.1"));
  c.bind_types = 1u << static_cast<int>(BindType::Transmitter);
  CHECK(c.allowsBind(BindType::Transmitter));
  CHECK_FALSE(c.allowsBind(BindType::Receiver));
  CHECK_FALSE(c.canReceive());
}

TEST_CASE("command status names") {
  CHECK(parseCommandStatus("ESME_RTHROTTLED") == 0x58u);
  CHECK(parseCommandStatus("esme_rthrottled") == 0x58u);
  CHECK(parseCommandStatus("RTHROTTLED") == 0x58u);
  CHECK(parseCommandStatus("0x58") == 0x58u);
  CHECK(parseCommandStatus("88") == 0x58u);
  CHECK(parseCommandStatus("0x00000400") == 0x400u);
  CHECK_FALSE(parseCommandStatus("ESME_NOPE").has_value());
  CHECK_FALSE(parseCommandStatus("0x").has_value());
  CHECK_FALSE(parseCommandStatus("99999999999").has_value());
  CHECK(commandStatusName(0x0B) == "ESME_RINVDSTADR");
  CHECK(describeCommandStatus(0x0B) == "ESME_RINVDSTADR (0x0000000B)");
  CHECK(describeCommandStatus(0x400) == "0x00000400");
}

TEST_CASE("enum names round-trip the config spelling") {
  CHECK(enumName(GroupStrategy::LeastOutstanding) == "least_outstanding");
  CHECK(enumName(AckMode::StoreAndForward) == "store_and_forward");
  CHECK(enumName(BindMode::TransmitterReceiver) == "transmitter_receiver");
  CHECK(enumName(ReceiptPolicy::AsRequested) == "as_requested");
  CHECK(enumName(DestinationFormat::PlusInternational) == "plus_international");
  CHECK(enumName(StoreType::Embedded) == "embedded");
  CHECK(enumName(LogLevel::Warn) == "warn");
  CHECK(enumName(IdBase::Decimal) == "decimal");
}
