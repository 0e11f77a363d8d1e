// Section readers for the peers: listeners and customers (downstream), upstreams (the
// carriers' Message Centres), and the TLS blocks both sides share.
#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>

#include "config/load_internal.h"
#include "config/password.h"

namespace smppgw::config::detail {

namespace {

void readTls(LoadState& st, Obj& parent, Tls& tls, bool listener) {
  const json* j = parent.take("tls");
  if (j == nullptr) {
    return;
  }
  Obj o(st.d, j, parent.path("tls"));
  if (!o.present()) {
    return;
  }
  tls.enabled = true;
  o.boolean("enabled", tls.enabled);
  o.str("certificate", tls.certificate, listener && tls.enabled);
  o.str("private_key", tls.private_key, listener && tls.enabled);
  o.str("ca", tls.ca);
  if (listener) {
    o.boolean("require_client_certificate", tls.require_client_certificate);
  } else {
    o.boolean("verify_peer", tls.verify_peer);
    o.str("server_name", tls.server_name, false, 253);
  }
  o.oneOf<std::string>("min_version", tls.min_version, {{"1.2", "1.2"}, {"1.3", "1.3"}});
  o.str("ciphers", tls.ciphers);
  o.str("ciphersuites", tls.ciphersuites);
  o.finish();
  if (!tls.enabled) {
    return;
  }
  if (!listener && tls.certificate.empty() != tls.private_key.empty()) {
    st.d.error(o.path(tls.certificate.empty() ? "certificate" : "private_key"),
               "certificate and private_key go together");
  }
  if (listener && tls.require_client_certificate && tls.ca.empty()) {
    st.d.error(o.path("ca"), "required when require_client_certificate is true");
  }
  if (!listener && !tls.verify_peer) {
    st.d.warn(o.path("verify_peer"), "false: the carrier's certificate is not checked");
  }
  for (auto [key, file] :
       {std::pair<const char*, const std::string*>{"certificate", &tls.certificate},
        {"private_key", &tls.private_key},
        {"ca", &tls.ca}}) {
    if (!file->empty()) {
      std::ifstream probe(*file);
      if (!probe) {
        st.d.warn(o.path(key), "file " + quote(*file) + " is not readable now");
      }
    }
  }
}

void readRateLimit(LoadState& st, Obj& parent, RateLimit& rl) {
  Obj o(st.d, parent.take("rate_limit"), parent.path("rate_limit"));
  if (!o.present()) {
    return;
  }
  o.uint("per_second", rl.per_second);
  bool burstGiven = o.take("burst") != nullptr;
  o.uint("burst", rl.burst);
  o.oneOf<RateCount>("count", rl.count,
                     {{"pdus", RateCount::Pdus},
                      {"messages", RateCount::Messages},
                      {"segments", RateCount::Segments}});
  o.duration("max_wait", rl.max_wait);
  o.uint("per_sender", rl.per_sender);
  o.finish();
  if (!burstGiven) {
    rl.burst = rl.per_second;
  }
}

void readCustomerPassword(LoadState& st, Obj& o, Customer& c) {
  auto pw = o.str("password", true, 512);
  if (!pw) {
    return;
  }
  const std::string path = o.path("password");
  std::string prefix = std::string(kPasswordHashScheme) + "$";
  if (pw->rfind(prefix, 0) == 0) {
    std::string reason;
    if (!isPasswordHash(*pw, &reason)) {
      st.d.error(path, "invalid password hash: " + reason);
      return;
    }
    c.password = *pw;
    return;
  }
  // Never echo the value: it is a secret.
  if (!st.c.gateway.allow_plain_passwords) {
    st.d.error(path,
               "plain-text password refused: store the output of `smppgw hash-password` "
               "(gateway.allow_plain_passwords permits plain text, for tests only)");
    return;
  }
  st.d.warn(path, "plain-text password (allowed by gateway.allow_plain_passwords)");
  if (pw->size() > 8) {
    st.d.warn(path, "longer than 8 characters: SMPP v3.4 binds carry at most 8");
  }
  c.password = *pw;
  c.password_plain = true;
}

}  // namespace

void readListeners(LoadState& st, Obj& r) {
  const json* j = r.take("listeners", true);
  if (j != nullptr && j->is_array() && j->empty()) {
    st.d.error("listeners", "at least one listener is required");
  }
  forEach(st.d, j, "listeners", [&](const json& e, const std::string& p, std::size_t) {
    Obj o(st.d, &e, p);
    if (!o.present()) {
      return;
    }
    Listener l;
    readName(o, l.name);
    if (auto a = o.str("address")) {
      std::array<std::uint8_t, 16> bytes{};
      bool v6 = false;
      if (!parseIp(*a, bytes, v6)) {
        st.d.error(o.path("address"), "not an IP address: " + quote(*a));
      } else {
        l.address = *a;
      }
    }
    o.uint("port", l.port, true);  // 0: any free port (tests; see --port-file)
    readTls(st, o, l.tls, true);
    o.uint("max_connections", l.max_connections);
    o.boolean("proxy_protocol", l.proxy_protocol);
    const bool hasCustomers = o.take("customers") != nullptr;
    const bool hasTags = o.take("customer_tags") != nullptr;
    l.customers = o.strings("customers");
    l.customer_tags = o.strings("customer_tags");
    l.all_customers = !hasCustomers && !hasTags;
    if (!l.all_customers && l.customers.empty() && l.customer_tags.empty()) {
      st.d.warn(p, "empty customers/customer_tags: no customer may bind here");
    }
    o.finish();
    st.c.listeners.push_back(std::move(l));
    st.src.listeners.push_back(p);
  });
}

void readCustomers(LoadState& st, Obj& r) {
  const json* j = r.take("customers");
  if (j == nullptr || (j->is_array() && j->empty())) {
    st.d.warn("customers", "no customers: nobody can bind");
  }
  forEach(st.d, j, "customers", [&](const json& e, const std::string& p, std::size_t) {
    Obj o(st.d, &e, p);
    if (!o.present()) {
      return;
    }
    Customer c;
    if (auto id = o.str("system_id", true)) {
      if (id->empty() || id->size() > 15 || !printableAscii(*id)) {
        st.d.error(o.path("system_id"),
                   "must be 1-15 printable characters (SMPP limit), got " + quote(*id));
      } else {
        c.system_id = *id;
      }
    }
    o.str("description", c.description);
    o.boolean("enabled", c.enabled);
    readCustomerPassword(st, o, c);
    c.tags = o.strings("tags", [&](const std::string& s, const std::string& tp) {
      if (!validName(s)) {
        st.d.error(tp, "invalid tag " + quote(s) + " (1-64 letters, digits, '_', '-', '.')");
        return false;
      }
      return true;
    });
    c.certificate_names =
        o.strings("certificate_names", [&](const std::string& s, const std::string& tp) {
          if (s.empty() || s.size() > 253) {
            st.d.error(tp, "a certificate name is 1-253 characters");
            return false;
          }
          return true;
        });
    if (const json* bt = o.take("bind_types")) {
      c.bind_types = 0;
      forEach(
          st.d, bt, o.path("bind_types"), [&](const json& v, const std::string& vp, std::size_t) {
            static constexpr std::pair<std::string_view, BindType> kTypes[] = {
                {"transmitter", BindType::Transmitter},
                {"receiver", BindType::Receiver},
                {"transceiver", BindType::Transceiver}};
            for (auto [n, t] : kTypes) {
              if (v.is_string() && v.get_ref<const std::string&>() == n) {
                c.bind_types = static_cast<std::uint8_t>(c.bind_types | 1u << static_cast<int>(t));
                return;
              }
            }
            st.d.error(vp, "expected one of transmitter, receiver, transceiver, got " + got(v));
          });
      if (bt->is_array() && bt->empty()) {
        st.d.error(o.path("bind_types"), "empty: the customer could never bind");
      }
    }
    o.uint("max_binds", c.max_binds);
    o.uint("window", c.window);
    forEach(st.d, o.take("source_networks"), o.path("source_networks"),
            [&](const json& v, const std::string& vp, std::size_t) {
              auto s = asString(st.d, v, vp);
              if (!s) {
                return;
              }
              std::string reason;
              bool hostBits = false;
              auto cidr = Cidr::parse(*s, &reason, &hostBits);
              if (!cidr) {
                st.d.error(vp, "invalid CIDR " + quote(*s) + " (" + reason + ")");
                return;
              }
              if (hostBits) {
                st.d.warn(vp, quote(*s) + " has host bits set; it means " + cidr->toString());
              }
              c.source_networks.push_back(*cidr);
            });
    readRateLimit(st, o, c.rate_limit);
    o.uint("weight", c.weight);
    for (auto& s :
         o.strings("allowed_source_addresses", [&](const std::string&s, const std::string&sp) {
           if (s.empty() || s.size() > 20) {
             st.d.error(sp, "must be 1-20 characters, got " + quote(s));
             return false;
           }
           return true;
         })) {
      SourcePattern pat;
      pat.glob = s.find_first_of("*?") != std::string::npos;
      pat.pattern = std::move(s);
      c.allowed_sources.push_back(std::move(pat));
    }
    if (const json* dr = o.take("default_route")) {
      c.default_route = readAction(st, dr, o.path("default_route"));
    }
    if (auto cc = o.str("country")) {
      if (!isDigits(*cc) || cc->size() > 3) {
        st.d.error(o.path("country"), "invalid country code " + quote(*cc) + " (1-3 digits)");
      } else if (st.c.numbering.country(*cc) == nullptr) {
        st.d.error(o.path("country"),
                   "no numbering.countries entry for country code " + quote(*cc));
      } else {
        c.country_code = *cc;
      }
    }
    {
      Obj m(st.d, o.take("message_id"), o.path("message_id"));
      bool lengthGiven = m.take("length") != nullptr;
      m.oneOf<MessageIdFormat>(
          "format", c.message_id_format,
          {{"hex", MessageIdFormat::Hex}, {"decimal", MessageIdFormat::Decimal}});
      if (!lengthGiven && c.message_id_format == MessageIdFormat::Decimal) {
        c.message_id_length = 20;
      }
      m.uint("length", c.message_id_length);
      m.finish();
    }
    o.oneOf<ReceiptPolicy>("receipts", c.receipts,
                           {{"as_requested", ReceiptPolicy::AsRequested},
                            {"always", ReceiptPolicy::Always},
                            {"never", ReceiptPolicy::Never}});
    AckMode ack{};
    if (o.oneOf<AckMode>("ack_mode", ack,
                         {{"transparent", AckMode::Transparent},
                          {"store_and_forward", AckMode::StoreAndForward}})) {
      c.ack_mode = ack;
    }
    o.finish();
    st.c.customers.push_back(std::move(c));
    st.src.customers.push_back(p);
  });
}

void readUpstreams(LoadState& st, Obj& r) {
  const json* j = r.take("upstreams");
  if (j == nullptr || (j->is_array() && j->empty())) {
    st.d.warn("upstreams", "no upstreams: no message can be delivered");
  }
  forEach(st.d, j, "upstreams", [&](const json& e, const std::string& p, std::size_t) {
    Obj o(st.d, &e, p);
    if (!o.present()) {
      return;
    }
    Upstream u;
    u.enquire_link_interval = st.c.timers.enquire_link;
    u.request_timeout = st.c.timers.response;
    readName(o, u.name);
    o.str("description", u.description);
    if (auto h = o.str("host", true, 253)) {
      bool ok = !h->empty() && std::all_of(h->begin(), h->end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '-' || ch == '.' || ch == ':';
      });
      if (!ok) {
        st.d.error(o.path("host"), "not a host name or IP address: " + quote(*h));
      } else {
        u.host = *h;
      }
    }
    o.uint("port", u.port, true);
    readTls(st, o, u.tls, false);
    if (auto s = o.str("system_id", true)) {
      if (s->empty() || s->size() > 15) {
        st.d.error(o.path("system_id"), "must be 1-15 characters (SMPP limit)");
      } else {
        u.system_id = *s;
      }
    }
    if (auto pw = o.str("password", false, 64)) {
      if (pw->size() > 8) {
        st.d.warn(o.path("password"), "longer than 8 characters: SMPP v3.4 allows at most 8");
      }
      u.password = *pw;
    }
    if (auto type = o.str("system_type")) {
      if (type->size() > 12) {
        st.d.error(o.path("system_type"), "longer than 12 characters (SMPP limit)");
      } else {
        u.system_type = *type;
      }
    }
    o.oneOf<std::uint8_t>("interface_version", u.interface_version,
                          {{"3.3", 0x33}, {"3.4", 0x34}, {"5.0", 0x50}});
    o.oneOf<BindMode>("bind_mode", u.bind_mode,
                      {{"transceiver", BindMode::Transceiver},
                       {"transmitter_receiver", BindMode::TransmitterReceiver}});
    o.uint("binds", u.binds);
    if (u.bind_mode == BindMode::TransmitterReceiver) {
      u.receiver_binds = 1;
      o.uint("receiver_binds", u.receiver_binds);
    } else if (o.take("receiver_binds") != nullptr) {
      st.d.error(o.path("receiver_binds"), "only valid with bind_mode \"transmitter_receiver\"");
    }
    if (auto ar = o.str("address_range")) {
      if (ar->size() > 40) {
        st.d.error(o.path("address_range"), "longer than 40 characters (SMPP limit)");
      } else {
        u.address_range = *ar;
      }
    }
    o.uint("window", u.window);
    o.uint("customer_delivery_share", u.customer_delivery_share);
    if (u.customer_delivery_share == 0) {  // not set (an explicit 0 is out of bounds)
      u.customer_delivery_share = std::max<std::uint32_t>(1, u.window / 2);
    }
    o.uint("tps_per_bind", u.tps_per_bind);
    o.uint("tps_total", u.tps_total);
    o.duration("enquire_link_interval", u.enquire_link_interval);
    o.duration("request_timeout", u.request_timeout);
    o.duration("connect_timeout", u.connect_timeout);
    {
      Obj rc(st.d, o.take("reconnect"), o.path("reconnect"));
      rc.duration("initial", u.reconnect.initial);
      rc.duration("max", u.reconnect.max);
      rc.number("multiplier", u.reconnect.multiplier);
      rc.number("jitter", u.reconnect.jitter);
      rc.finish();
      if (u.reconnect.max < u.reconnect.initial) {
        st.d.error(rc.path("max"), formatDuration(u.reconnect.max) + " is below initial " +
                                       formatDuration(u.reconnect.initial));
      }
    }
    {
      Obj tp(st.d, o.take("throttle_pause"), o.path("throttle_pause"));
      tp.duration("initial", u.throttle_pause.initial);
      tp.duration("max", u.throttle_pause.max);
      tp.finish();
      if (u.throttle_pause.max < u.throttle_pause.initial) {
        st.d.error(tp.path("max"), formatDuration(u.throttle_pause.max) + " is below initial " +
                                       formatDuration(u.throttle_pause.initial));
      }
    }
    {
      Obj m(st.d, o.take("message_id"), o.path("message_id"));
      auto bases = {std::pair<std::string_view, IdBase>{"as_is", IdBase::AsIs},
                    {"hex", IdBase::Hex},
                    {"decimal", IdBase::Decimal}};
      m.oneOf<IdBase>("response", u.message_id.response, bases);
      m.oneOf<IdBase>("receipt", u.message_id.receipt, bases);
      m.boolean("strip_leading_zeros", u.message_id.strip_leading_zeros);
      m.oneOf<IdCase>(
          "case", u.message_id.letter_case,
          {{"preserve", IdCase::Preserve}, {"lower", IdCase::Lower}, {"upper", IdCase::Upper}});
      m.finish();
      const auto& mi = u.message_id;
      if (mi.response != mi.receipt &&
          (mi.response == IdBase::AsIs || mi.receipt == IdBase::AsIs)) {
        st.d.error(m.path(),
                   "response and receipt differ, so both must be \"hex\" or \"decimal\" "
                   "(ids are converted between them)");
      }
    }
    {
      Obj a(st.d, o.take("address_rewrite"), o.path("address_rewrite"));
      auto byte = [&](std::string_view key, std::optional<std::uint8_t>& out) {
        if (const json* v = a.take(key)) {
          out = asByte(st.d, *v, a.path(key));
        }
      };
      byte("source_ton", u.rewrite.source_ton);
      byte("source_npi", u.rewrite.source_npi);
      byte("destination_ton", u.rewrite.destination_ton);
      byte("destination_npi", u.rewrite.destination_npi);
      if (auto so = a.str("source_override")) {
        if (so->empty() || so->size() > 20) {
          st.d.error(a.path("source_override"), "must be 1-20 characters");
        } else {
          u.rewrite.source_override = *so;
        }
      }
      a.oneOf<DestinationFormat>("destination_format", u.rewrite.destination_format,
                                 {{"as_is", DestinationFormat::AsIs},
                                  {"international", DestinationFormat::International},
                                  {"plus_international", DestinationFormat::PlusInternational}});
      a.finish();
    }
    o.finish();
    if (u.tps_per_bind != 0 && u.tps_total != 0 &&
        static_cast<std::uint64_t>(u.tps_per_bind) * u.binds < u.tps_total) {
      st.d.warn(o.path("tps_total"),
                std::to_string(u.tps_total) + " can never be reached: binds x tps_per_bind = " +
                    std::to_string(static_cast<std::uint64_t>(u.tps_per_bind) * u.binds));
    }
    st.c.upstreams.push_back(std::move(u));
    st.src.upstreams.push_back(p);
  });
}

}  // namespace smppgw::config::detail
