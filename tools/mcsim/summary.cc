#include "tools/mcsim/summary.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "codec/command.h"
#include "codec/status.h"
#include "net/loop.h"
#include "tools/common/util.h"
#include "tools/mcsim/book.h"

namespace smppgw::mcsim {

// ---- PduCounters ----

size_t PduCounters::slot(uint32_t command_id) {
  if ((command_id & 0x7FFFFE00u) != 0) {
    return 1024;
  }
  return ((command_id & 0x1FFu) << 1) | (command_id >> 31);
}

void PduCounters::add(uint32_t command_id, uint32_t st) {
  Entry& e = entries_[slot(command_id)];
  e.command_id = command_id;
  ++e.total;
  for (uint8_t i = 0; i < e.nstatus; ++i) {
    if (e.statuses[i].status == st) {
      ++e.statuses[i].count;
      return;
    }
  }
  if (e.nstatus < kMaxStatuses) {
    e.statuses[e.nstatus++] = StatusCount{st, 1};
    return;
  }
  // Too many distinct statuses: the extra slot collects the rest under 0xFFFFFFFF.
  e.statuses[kMaxStatuses].status = 0xFFFFFFFFu;
  ++e.statuses[kMaxStatuses].count;
  e.nstatus = kMaxStatuses + 1;
}

uint64_t PduCounters::total(uint32_t command_id) const {
  const Entry& e = entries_[slot(command_id)];
  return e.command_id == command_id ? e.total : 0;
}

uint64_t PduCounters::count(uint32_t command_id, uint32_t st) const {
  const Entry& e = entries_[slot(command_id)];
  for (uint8_t i = 0; i < e.nstatus && e.command_id == command_id; ++i) {
    if (e.statuses[i].status == st) {
      return e.statuses[i].count;
    }
  }
  return 0;
}

// ---- summary ----

namespace {

std::string statusKey(uint32_t st) {
  std::string_view name = codec::statusName(st);
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", st);
  return buf;
}

std::string commandKey(uint32_t id) {
  std::string_view name = codec::commandName(static_cast<codec::CommandId>(id));
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", id);
  return buf;
}

}  // namespace

std::string summaryJson(const SummaryInput& in) {
  using nlohmann::ordered_json;
  const Counters& c = *in.counters;
  ordered_json j;
  j["tool"] = "smpp-mcsim";
  j["port"] = in.port;
  j["uptime_s"] = static_cast<double>(net::Loop::hrtimeNs() - in.started_ns) / 1e9;
  j["connections"] = c.connections;
  j["binds"] = {{"ok", c.binds_ok},
                {"failed", c.binds_failed},
                {"transmitter", c.bind_tx},
                {"receiver", c.bind_rx},
                {"transceiver", c.bind_trx}};
  auto counters = [](const PduCounters& pc) {
    ordered_json out = ordered_json::object();
    pc.forEach([&](uint32_t id, uint64_t total, const auto& statuses, uint8_t n) {
      ordered_json e;
      e["total"] = total;
      ordered_json by = ordered_json::object();
      for (uint8_t i = 0; i < n; ++i) {
        by[statuses[i].status == 0xFFFFFFFFu ? std::string("other")
                                             : statusKey(statuses[i].status)] = statuses[i].count;
      }
      e["status"] = by;
      out[commandKey(id)] = e;
    });
    return out;
  };
  j["pdus_in"] = counters(c.pdus_in);
  j["pdus_out"] = counters(c.pdus_out);
  j["messages"] = {{"accepted", c.accepted},
                   {"errors_injected", c.errors},
                   {"throttled", c.throttled},
                   {"responses_dropped", c.responses_dropped}};
  j["receipts"] = {{"sent", c.receipts_sent},
                   {"acked", c.receipts_acked},
                   {"failed", c.receipts_failed},
                   {"retried", c.receipts_retried},
                   {"dropped", c.receipts_dropped},
                   {"cancelled", c.receipts_cancelled},
                   {"unanswered_at_close", c.receipts_unanswered_at_close},
                   {"queued", in.queued}};
  j["mo"] = {{"generated", c.mo_generated},
             {"sent", c.mo_sent},
             {"acked", c.mo_acked},
             {"failed", c.mo_failed},
             {"retried", c.mo_retried},
             {"dropped", c.mo_dropped},
             {"unanswered_at_close", c.mo_unanswered_at_close}};
  ordered_json ops = ordered_json::array();
  for (const MessageBook::Operation& o : in.book->operations()) {
    ops.push_back({{"command", commandKey(o.command_id)},
                   {"message_id", o.message_id},
                   {"status", statusKey(o.status)}});
  }
  j["operations"] = ops;
  j["broadcasts"] = in.book->broadcastCount();
  j["framing_errors"] = c.framing_errors;
  const net::LoopStats& ls = *in.loop;
  j["loop"] = {{"reads", ls.reads},
               {"writes", ls.writes},
               {"iterations", ls.iterations},
               {"bytes_in", ls.bytes_in},
               {"bytes_out", ls.bytes_out}};
  const tools::CpuTimes cpu = tools::processCpu();
  j["cpu"] = {{"user_s", cpu.user_s}, {"sys_s", cpu.sys_s}};
  return j.dump();
}

}  // namespace smppgw::mcsim
