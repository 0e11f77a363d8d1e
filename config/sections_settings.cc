// Section readers for the single-object blocks: gateway, timers, limits, numbering, routing,
// store, metrics, log.
#include <array>
#include <cstdint>

#include "config/load_internal.h"

namespace smppgw::config::detail {

void readGateway(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("gateway"), "gateway");
  if (!o.present()) {
    return;
  }
  if (auto n = o.str("name", false, 64)) {
    if (n->empty()) {
      st.d.error(o.path("name"), "must not be empty");
    } else {
      st.c.gateway.name = *n;
    }
  }
  o.uint("instance_id", st.c.gateway.instance_id);
  if (auto s = o.str("system_id")) {
    if (s->empty() || s->size() > 15 || !printableAscii(*s)) {
      st.d.error(o.path("system_id"), "must be 1-15 printable characters (SMPP limit)");
    } else {
      st.c.gateway.system_id = *s;
    }
  }
  o.boolean("allow_plain_passwords", st.c.gateway.allow_plain_passwords);
  o.finish();
}

void readTimers(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("timers"), "timers");
  auto& t = st.c.timers;
  o.duration("session_init", t.session_init);
  o.duration("tls_handshake", t.tls_handshake);
  o.duration("enquire_link", t.enquire_link);
  o.duration("inactivity", t.inactivity);
  o.duration("response", t.response);
  o.duration("delivery_response", t.delivery_response);
  o.duration("unbind", t.unbind);
  o.duration("shutdown_grace", t.shutdown_grace);
  o.finish();
}

void readLimits(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("limits"), "limits");
  auto& l = st.c.limits;
  o.uint("max_pdu_size", l.max_pdu_size);
  o.uint("max_connections", l.max_connections);
  o.uint("max_queue_per_group", l.max_queue_per_group);
  o.uint("max_pending_deliveries_per_customer", l.max_pending_deliveries_per_customer);
  o.uint("max_session_output", l.max_session_output);
  o.uint("max_connections_per_source", l.max_connections_per_source);
  o.finish();
  if (l.max_pdu_size < 65536 + 300) {
    st.d.warn(o.path("max_pdu_size"),
              std::to_string(l.max_pdu_size) +
                  " is below 65836: PDUs carrying a full message_payload (64 KiB) are refused");
  }
}

void readAuth(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("auth"), "auth");
  auto& a = st.c.auth;
  o.uint("max_failures", a.max_failures);
  o.duration("failure_window", a.failure_window);
  o.duration("block", a.block);
  o.duration("failure_delay", a.failure_delay);
  o.uint("max_attempts_per_connection", a.max_attempts_per_connection);
  o.uint("max_pending_checks", a.max_pending_checks);
  o.uint("max_pending_checks_per_source", a.max_pending_checks_per_source);
  o.uint("check_concurrency", a.check_concurrency);
  o.boolean("distinct_statuses", a.distinct_statuses);
  o.finish();
}

void readNumbering(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("numbering"), "numbering");
  auto& n = st.c.numbering;
  o.boolean("enabled", n.enabled);
  o.boolean("normalise_source", n.normalise_source);
  if (const json* ip = o.take("international_prefixes")) {
    n.international_prefixes.clear();
    forEach(st.d, ip, o.path("international_prefixes"),
            [&](const json& v, const std::string& vp, std::size_t) {
              auto s = asString(st.d, v, vp);
              if (s && (!isDigits(*s) || s->size() > 4)) {
                st.d.error(vp, "invalid international prefix " + quote(*s) + " (1-4 digits)");
              } else if (s) {
                n.international_prefixes.push_back(*s);
              }
            });
  }
  o.str("default_country", n.default_country, false, 3);
  const json* countries = o.take("countries");
  o.finish();
  if (countries != nullptr) {
    Obj co(st.d, countries, o.path("countries"));
    if (co.present()) {
      for (const auto& [cc, value] : countries->items()) {
        std::string p = co.path(cc);
        Obj e(st.d, &value, p);
        CountryNumbering entry;
        entry.country_code = cc;
        if (!isDigits(cc) || cc.size() > 3 || cc[0] == '0') {
          st.d.error(p, "invalid country code " + quote(cc) + " (1-3 digits, no leading 0)");
        }
        if (auto np = e.str("national_prefix", false, 4)) {
          if (!np->empty() && !isDigits(*np)) {
            st.d.error(e.path("national_prefix"), "must be digits, got " + quote(*np));
          } else {
            entry.national_prefix = *np;
          }
        }
        e.finish();
        n.countries.push_back(std::move(entry));
      }
      // Mark all keys of "countries" as consumed.
      for (const auto& [cc, value] : countries->items()) {
        co.take(cc);
      }
    }
  }
  if (!n.default_country.empty() && n.country(n.default_country) == nullptr) {
    st.d.error(o.path("default_country"),
               "no numbering.countries entry for country code " + quote(n.default_country));
  }
}

void readRouting(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("routing"), "routing");
  auto& ro = st.c.routing;
  o.status("unroutable_status", ro.unroutable_status);
  o.status("mo_unroutable_status", ro.mo_unroutable_status);
  o.status("receipt_unmatched_status", ro.receipt_unmatched_status);
  o.status("queue_full_status", ro.queue_full_status);
  o.status("queue_timeout_status", ro.queue_timeout_status);
  o.oneOf<AckMode>(
      "ack_mode", ro.ack_mode,
      {{"transparent", AckMode::Transparent}, {"store_and_forward", AckMode::StoreAndForward}});
  o.duration("concat_ttl", ro.concat_ttl);
  o.uint("concat_max_entries", ro.concat_max_entries);
  o.finish();
  if (ro.unroutable_status == 0) {
    st.d.error(o.path("unroutable_status"), "must not be 0 (ESME_ROK)");
  }
  for (auto [key, v] :
       {std::pair<const char*, std::uint32_t>{"queue_full_status", ro.queue_full_status},
        {"queue_timeout_status", ro.queue_timeout_status}}) {
    if (v == 0) {
      st.d.error(o.path(key), "must not be 0 (ESME_ROK): the message was not sent");
    }
  }
}

void readStore(LoadState& st, Obj& r) {
  const json* raw = r.take("store");
  Obj o(st.d, raw, "store");
  auto& s = st.c.store;
  o.oneOf<StoreType>("type", s.type,
                     {{"memory", StoreType::Memory},
                      {"embedded", StoreType::Embedded},
                      {"redis", StoreType::Redis}});
  o.str("path", s.path);
  o.str("url", s.url);
  o.str("key_prefix", s.key_prefix, false, 64);
  o.duration("mapping_ttl", s.mapping_ttl);
  o.uint("max_mappings", s.max_mappings);
  o.duration("delivery_ttl", s.delivery_ttl);
  o.boolean("sync", s.sync);
  o.str("journal", s.journal);
  o.uint("min_free_bytes", s.min_free_bytes);
  o.uint("batch_max", s.batch_max);
  o.duration("batch_delay", s.batch_delay);
  o.finish();
  if (s.type == StoreType::Embedded && s.path.empty()) {
    st.d.error(o.path("path"), "required when type is \"embedded\"");
  }
  if (s.sync && raw != nullptr && raw->is_object() && raw->contains("journal") &&
      !s.journal.empty()) {
    st.d.error(o.path("journal"),
               "not used with sync: true (each batch is fsync'd before it is answered); "
               "remove it or set \"\"");
  }
  if (s.type == StoreType::Redis) {
    if (s.url.empty()) {
      st.d.error(o.path("url"), "required when type is \"redis\"");
    } else if (s.url.rfind("redis://", 0) != 0 && s.url.rfind("rediss://", 0) != 0 &&
               s.url.rfind("unix://", 0) != 0) {
      st.d.error(o.path("url"), "expected redis://, rediss:// or unix://, got " + quote(s.url));
    }
  }
  if (s.type != StoreType::Embedded && raw != nullptr && raw->is_object()) {
    // The embedded store's keys would be accepted and ignored by another store: refused.
    for (const char* key : {"path", "sync", "journal", "min_free_bytes", "batch_max", "batch_delay",
                            "delivery_ttl"}) {
      if (raw->contains(key)) {
        st.d.error(o.path(key), "only used when type is \"embedded\"");
      }
    }
  }
  if (s.type != StoreType::Redis && !s.url.empty()) {
    st.d.warn(o.path("url"), "ignored unless type is \"redis\"");
  }
}

void readMetrics(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("metrics"), "metrics");
  auto& m = st.c.metrics;
  o.boolean("enabled", m.enabled);
  if (auto a = o.str("address")) {
    std::array<std::uint8_t, 16> bytes{};
    bool v6 = false;
    if (!parseIp(*a, bytes, v6)) {
      st.d.error(o.path("address"), "not an IP address: " + quote(*a));
    } else {
      m.address = *a;
    }
  }
  o.uint("port", m.port);  // 0: any free port
  if (auto p = o.str("path")) {
    if (p->empty() || (*p)[0] != '/') {
      st.d.error(o.path("path"), "must start with '/'");
    } else {
      m.path = *p;
    }
  }
  o.finish();
}

void readLog(LoadState& st, Obj& r) {
  Obj o(st.d, r.take("log"), "log");
  o.oneOf<LogLevel>("level", st.c.log.level,
                    {{"trace", LogLevel::Trace},
                     {"debug", LogLevel::Debug},
                     {"info", LogLevel::Info},
                     {"warn", LogLevel::Warn},
                     {"error", LogLevel::Error}});
  o.oneOf<LogFormat>("format", st.c.log.format,
                     {{"text", LogFormat::Text}, {"json", LogFormat::Json}});
  o.str("file", st.c.log.file);
  o.finish();
}

}  // namespace smppgw::config::detail
