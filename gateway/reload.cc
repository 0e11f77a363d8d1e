// Reload: a new configuration loaded on the thread pool, checked, and swapped in on the loop.

#include "gateway/gateway.h"

#include "config/keys.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"

namespace smppgw {

// ---------------------------------------------------------------------------------------------
// Reload

struct Gateway::ReloadJob {
  uv_work_t req;
  Gateway* gw;
  std::shared_ptr<bool> alive;  // false once the gateway is gone: the callback only frees
  std::string path;
  config::LoadResult loaded;
  routing::CompileResult compiled;
  TlsContexts tls;  // built here too: certificate files are read off the loop
};

void Gateway::requestReload(std::string path) {
  if (reload_running_) {
    log::warn("reload_ignored", "reason", "a reload is already running");
    return;
  }
  if (path.empty()) {
    log::warn("reload_ignored", "reason", "running the built-in demo configuration (no file)");
    return;
  }
  reload_running_ = true;
  auto job = std::make_unique<ReloadJob>();
  job->gw = this;
  job->alive = alive_;
  job->path = std::move(path);
  job->req.data = job.get();
  int rc = uv_queue_work(
      loop_.raw(), &job->req,
      [](uv_work_t* req) {
        // Parsing, validation and compilation can take a few hundred ms on a large file.
        auto* j = static_cast<ReloadJob*>(req->data);
        j->loaded = config::loadConfigFile(j->path);
        if (j->loaded.ok()) {
          j->compiled = routing::RoutingTable::compile(j->loaded.config);
          // A certificate that does not load refuses the whole reload, like any other error.
          if (j->compiled.ok()) {
            j->tls = buildTlsContexts(*j->loaded.config, j->compiled.errors);
            if (!j->compiled.errors.empty()) {
              j->compiled.table = nullptr;
            }
          }
        }
      },
      [](uv_work_t* req, int status) {
        std::unique_ptr<ReloadJob> j(static_cast<ReloadJob*>(req->data));
        if (!*j->alive) {
          return;  // the gateway was destroyed while the file was loading
        }
        Gateway* gw = j->gw;
        gw->work_.erase(req);
        gw->reload_running_ = false;
        if (status == UV_ECANCELED) {
          return;
        }
        for (const auto& w : j->loaded.warnings) {
          log::warn("reload_warning", "file", j->path, "problem", config::toString(w));
        }
        if (!j->loaded.ok() || !j->compiled.ok()) {
          const auto& errors = j->loaded.ok() ? j->compiled.errors : j->loaded.errors;
          for (const auto& e : errors) {
            log::error("reload_error", "file", j->path, "problem", config::toString(e));
          }
          gw->rt_.metrics()
              .registry()
              .counter(metrics::CounterFamily::ConfigReloads, {"failure"})
              .inc();
          log::error("reload_failed", "file", j->path, "errors", errors.size(), "action",
                     "keeping the running configuration");
          return;
        }
        gw->applyReload(j->loaded.config, j->compiled.table, std::move(j->tls));
      });
  if (rc != 0) {
    reload_running_ = false;
    log::error("reload_failed", "reason", uv_strerror(rc));
    return;
  }
  work_.insert(&job.release()->req);  // owned by the thread pool until the after-work callback
}

bool Gateway::applyReload(std::shared_ptr<const config::Config> next,
                          routing::RoutingTablePtr table, std::optional<TlsContexts> tls) {
  if (!tls) {
    std::vector<config::Diagnostic> errors;
    tls = buildTlsContexts(*next, errors);
    if (!errors.empty()) {
      rt_.metrics().registry().counter(metrics::CounterFamily::ConfigReloads, {"failure"}).inc();
      log::error("reload_refused", "reason", config::toString(errors.front()), "action",
                 "keeping the running configuration");
      return false;
    }
  }
  const config::Config& old = rt_.cfg();
  if (next->content_hash == old.content_hash) {
    // Same file, maybe renewed certificates behind the same paths: new connections get them.
    rt_.setTls(std::move(*tls));
    publishTlsGauges(rt_.metrics().registry(), rt_.cfg(), rt_.tls(), false);
    rt_.metrics().registry().counter(metrics::CounterFamily::ConfigReloads, {"unchanged"}).inc();
    log::info("reload_unchanged", "hash", next->content_hash);
    return true;
  }
  // Keys the running process cannot change (config/keys_table.inc marks them: the sockets we
  // listen on, the id space of minted ids, the metrics endpoint) refuse the whole reload, so the
  // configuration in force is always exactly one file's.
  std::string refused;
  for (const auto& path : config::restartChanges(old.restart_values, next->restart_values)) {
    refused += refused.empty() ? "" : ", ";
    refused += path;
  }
  if (!refused.empty()) {
    rt_.metrics().registry().counter(metrics::CounterFamily::ConfigReloads, {"failure"}).inc();
    log::error("reload_refused", "reason", "restart-only keys changed", "keys", refused, "action",
               "restart to apply; keeping the running configuration");
    return false;
  }
  // log.file is opened before anything changes: a path that cannot be opened refuses the reload.
  if (std::string error; !log::configure(next->log, next->gateway.name, &error)) {
    rt_.metrics().registry().counter(metrics::CounterFamily::ConfigReloads, {"failure"}).inc();
    log::error("reload_refused", "reason", error, "action", "keeping the running configuration");
    return false;
  }
  auto previous = rt_.config();  // keeps the old config alive while objects move over
  {
    std::vector<uint32_t> map(old.groups.size(), config::kNoId);
    for (size_t g = 0; g < old.groups.size(); ++g) {
      if (auto id = next->findGroup(old.groups[g].name)) {
        map[g] = *id;
      }
    }
    group_queued_.assign(next->groups.size(), 0);
    for (auto& u : upstreams_) {
      u->remapQueuedGroups(map, group_queued_);
    }
  }
  rt_.setConfig(std::move(next));
  rt_.setTls(std::move(*tls));  // open connections keep the contexts they hold
  publishTlsGauges(rt_.metrics().registry(), rt_.cfg(), rt_.tls(), true);
  table_ = std::move(table);
  selector_ = routing::GroupSelector(rt_.cfg());
  ids_.setLimits(ms(rt_.cfg().store.mapping_ttl), rt_.cfg().store.max_mappings);
  sticky_.setLimits(rt_.cfg().routing.concat_max_entries, rt_.cfg().routing.concat_ttl);
  bindConfig();
  // Customers removed or disabled: their sessions unbind; their waiting deliveries go back to
  // the MC (it retries). Everyone else gets the new limits on the sessions they have.
  sessions_.forEach([&](DownstreamSession& s) {
    if (!s.customer().valid()) {
      return;
    }
    const config::Customer* c = customerCfg(s.customer());
    if (c == nullptr || !c->enabled) {
      s.unbind("customer removed or disabled by a reload");
    } else {
      s.setWindow(c->window);
      s.setOutputLimit(rt_.cfg().limits.max_session_output);
    }
  });
  for (CustomerState& cs : customers_) {
    if (cs.cfg == config::kNoId) {
      deliveries_.returnWaiting(CustomerRt(static_cast<uint32_t>(&cs - customers_.data())),
                                metrics::DeferReason::NoReceiver);
    }
  }
  for (auto& u : upstreams_) {
    if (u->configIndex() == config::kNoId) {
      u->stop(true);  // removed: finish what is in flight, unbind, do not reconnect
    } else if (!u->available()) {
      u->start(now());
    }
  }
  auto& reg = rt_.metrics().registry();
  reg.counter(metrics::CounterFamily::ConfigReloads, {"success"}).inc();
  reg.setInfo(metrics::InfoFamily::ConfigInfo, {rt_.cfg().content_hash});
  reg.setInfo(metrics::InfoFamily::InstanceInfo,
              {rt_.cfg().gateway.name, std::to_string(rt_.cfg().gateway.instance_id)});
  reg.gauge(metrics::GaugeFamily::ConfigLoadedTimestamp)
      .set(static_cast<int64_t>(wallClockMs() / 1000));
  log::info("reload_ok", "file", rt_.cfg().origin, "hash", rt_.cfg().content_hash, "customers",
            rt_.cfg().customers.size(), "upstreams", rt_.cfg().upstreams.size(), "routes",
            rt_.cfg().routes.size());
  return true;
}

}  // namespace smppgw
