// smpp-relay: the "uvpure" baseline of the benchmarks (docs/benchmarks.md). A pure libuv byte
// relay: every accepted connection gets its own upstream connection, and bytes are copied both
// ways without being looked at. It is the ceiling for any proxy built on this loop: the same
// libuv, the same Loop (one 256 KiB read buffer for the whole loop, one uv_check_t per iteration
// counting wake-ups) and the same write strategy as the gateway (uv_try_write straight from the
// read buffer; only what the kernel did not take is copied and queued with uv_write).
//
// At exit (SIGTERM/SIGINT) it writes its loop counters and CPU time as one JSON object to
// --stats-file (and stdout), in the shape of the gateway's SMPPGW_STATS_FILE, so the harness
// computes syscalls and CPU per round trip the same way for both.

#include <sys/resource.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/connection.h"
#include "net/loop.h"
#include "tools/common/options.h"
#include "tools/common/util.h"

namespace {

using smppgw::net::Loop;

// Queued output beyond this stops reading from the other side until it drains.
constexpr size_t kMaxQueued = 4 * 1024 * 1024;

class Relay;
struct Pipe;

// One TCP connection of a pipe, and the output queued for it.
struct Side {
  uv_tcp_t tcp;
  uv_write_t req;
  Pipe* pipe = nullptr;
  Side* peer = nullptr;
  std::vector<char> inflight;  // owned by the uv_write in progress
  std::vector<char> queued;    // arrived while a uv_write was in progress
  bool writing = false;
  bool paused = false;  // reading stopped: the peer's queue is full
  bool close_after_drain = false;
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
};

// An accepted (downstream) connection and its upstream connection.
struct Pipe {
  Relay* relay = nullptr;
  Side down;
  Side up;
  uv_connect_t connect_req;
  int open_handles = 2;
  bool closing = false;
};

class Relay {
 public:
  Relay(Loop& loop, const sockaddr_storage& upstream) : loop_(loop), upstream_(upstream) {}
  ~Relay() = default;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void accept(uv_stream_t* server);
  void closeAll();
  uint64_t connections() const { return connections_; }
  uint64_t queuedWrites() const { return queued_writes_; }

 private:
  void startReading(Side& s);
  void forward(Side& to, const char* data, size_t len);
  void startWrite(Side& s);
  void close(Pipe& p);
  static void onConnect(uv_connect_t* req, int status);
  static void onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void onRead(uv_stream_t* st, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onClosed(uv_handle_t* h);

  Loop& loop_;
  sockaddr_storage upstream_;
  std::unordered_map<Pipe*, std::unique_ptr<Pipe>> pipes_;
  uint64_t connections_ = 0;
  uint64_t queued_writes_ = 0;
};

void Relay::accept(uv_stream_t* server) {
  auto owned = std::make_unique<Pipe>();
  Pipe& p = *owned;
  p.relay = this;
  for (Side* s : {&p.down, &p.up}) {
    uv_tcp_init(loop_.raw(), &s->tcp);
    s->tcp.data = s;
    s->req.data = s;
    s->pipe = &p;
  }
  p.down.peer = &p.up;
  p.up.peer = &p.down;
  p.connect_req.data = &p;
  pipes_.emplace(&p, std::move(owned));
  ++connections_;
  if (uv_accept(server, p.down.stream()) != 0 ||
      uv_tcp_connect(&p.connect_req, &p.up.tcp, reinterpret_cast<sockaddr*>(&upstream_),
                     &Relay::onConnect) != 0) {
    close(p);
    return;
  }
  uv_tcp_nodelay(&p.down.tcp, 1);
}

void Relay::onConnect(uv_connect_t* req, int status) {
  Pipe& p = *static_cast<Pipe*>(req->data);
  if (p.closing) {
    return;
  }
  if (status != 0) {
    p.relay->close(p);
    return;
  }
  uv_tcp_nodelay(&p.up.tcp, 1);
  p.relay->startReading(p.down);
  p.relay->startReading(p.up);
}

void Relay::startReading(Side& s) {
  s.paused = false;
  if (uv_read_start(s.stream(), &Relay::onAlloc, &Relay::onRead) != 0) {
    close(*s.pipe);
  }
}

void Relay::onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  // Everything read is forwarded (or copied) before the callback returns: one buffer serves all.
  auto shared = static_cast<Side*>(h->data)->pipe->relay->loop_.sharedReadBuffer();
  *buf = uv_buf_init(reinterpret_cast<char*>(shared.data()), static_cast<unsigned>(shared.size()));
}

void Relay::onRead(uv_stream_t* st, ssize_t nread, const uv_buf_t* buf) {
  Side& s = *static_cast<Side*>(st->data);
  Relay& r = *s.pipe->relay;
  if (nread == 0) {
    return;
  }
  if (nread < 0) {
    // EOF or error: let what is queued for the other side leave, then close both.
    if (s.peer->writing && nread == UV_EOF) {
      uv_read_stop(st);
      s.peer->close_after_drain = true;
      return;
    }
    r.close(*s.pipe);
    return;
  }
  ++r.loop_.stats().reads;
  r.loop_.stats().bytes_in += static_cast<uint64_t>(nread);
  r.forward(*s.peer, buf->base, static_cast<size_t>(nread));
  if (!s.pipe->closing && s.peer->writing &&
      s.peer->inflight.size() + s.peer->queued.size() > kMaxQueued) {
    uv_read_stop(st);
    s.paused = true;
  }
}

void Relay::forward(Side& to, const char* data, size_t len) {
  if (to.writing) {
    to.queued.insert(to.queued.end(), data, data + len);
    return;
  }
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  const int n = uv_try_write(to.stream(), &b, 1);
  ++loop_.stats().writes;
  if (n == static_cast<int>(len)) {
    loop_.stats().bytes_out += len;
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    close(*to.pipe);
    return;
  }
  const size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  loop_.stats().bytes_out += done;
  to.inflight.assign(data + done, data + len);
  startWrite(to);
}

void Relay::startWrite(Side& s) {
  s.writing = true;
  ++queued_writes_;
  uv_buf_t b = uv_buf_init(s.inflight.data(), static_cast<unsigned>(s.inflight.size()));
  if (uv_write(&s.req, s.stream(), &b, 1, &Relay::onWrite) != 0) {
    s.writing = false;
    close(*s.pipe);
  }
}

void Relay::onWrite(uv_write_t* req, int status) {
  Side& s = *static_cast<Side*>(req->data);
  Relay& r = *s.pipe->relay;
  s.writing = false;
  if (status != 0 || s.pipe->closing) {
    r.close(*s.pipe);
    return;
  }
  r.loop_.stats().bytes_out += s.inflight.size();
  s.inflight.clear();
  if (!s.queued.empty()) {
    s.inflight.swap(s.queued);
    r.startWrite(s);
  } else if (s.close_after_drain) {
    r.close(*s.pipe);
  } else if (s.peer->paused) {
    r.startReading(*s.peer);
  }
}

void Relay::close(Pipe& p) {
  if (p.closing) {
    return;
  }
  p.closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&p.down.tcp), &Relay::onClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&p.up.tcp), &Relay::onClosed);
}

void Relay::onClosed(uv_handle_t* h) {
  Pipe& p = *static_cast<Side*>(h->data)->pipe;
  if (--p.open_handles == 0) {
    p.relay->pipes_.erase(&p);  // libuv no longer touches either handle
  }
}

void Relay::closeAll() {
  std::vector<Pipe*> all;
  all.reserve(pipes_.size());
  for (auto& [p, owned] : pipes_) {
    all.push_back(p);
  }
  for (Pipe* p : all) {
    close(*p);
  }
}

std::string statsJson(const smppgw::net::LoopStats& s, uint64_t connections,
                      uint64_t queued_writes) {
  const smppgw::tools::CpuTimes cpu = smppgw::tools::processCpu();
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  char line[512];
  std::snprintf(
      line, sizeof line,
      "{\"tool\":\"smpp-relay\",\"connections\":%llu,\"loop\":{\"reads\":%llu,"
      "\"writes\":%llu,\"iterations\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
      "\"queued_writes\":%llu},\"cpu\":{\"user_s\":%.6f,\"sys_s\":%.6f},"
      "\"maxrss_kb\":%ld}",
      static_cast<unsigned long long>(connections), static_cast<unsigned long long>(s.reads),
      static_cast<unsigned long long>(s.writes), static_cast<unsigned long long>(s.iterations),
      static_cast<unsigned long long>(s.bytes_in), static_cast<unsigned long long>(s.bytes_out),
      static_cast<unsigned long long>(queued_writes), cpu.user_s, cpu.sys_s, ru.ru_maxrss);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string upstream;
  std::string port_file;
  std::string stats_file;
  smppgw::tools::OptionParser p("smpp-relay", "--upstream HOST:PORT [options]");
  p.string("listen", "HOST:PORT", "address to listen on (numeric; default 127.0.0.1:0)", listen);
  p.string("upstream", "HOST:PORT", "where every accepted connection is relayed (required)",
           upstream);
  p.string("port-file", "PATH", "write the bound port to PATH once listening", port_file);
  p.string("stats-file", "PATH",
           "at exit, write the loop counters and CPU time as one JSON object to PATH", stats_file);
  std::string error;
  switch (p.parse(argc, argv, error)) {
    case smppgw::tools::OptionParser::Result::Help:
      std::fputs(p.help().c_str(), stdout);
      return 0;
    case smppgw::tools::OptionParser::Result::Error:
      std::fprintf(stderr, "smpp-relay: %s\n", error.c_str());
      return 2;
    case smppgw::tools::OptionParser::Result::Ok:
      break;
  }
  std::string lhost;
  std::string uhost;
  uint16_t lport = 0;
  uint16_t uport = 0;
  sockaddr_storage laddr{};
  sockaddr_storage uaddr{};
  if (!smppgw::tools::splitHostPort(listen, lhost, lport) ||
      !smppgw::net::parseAddress(lhost, lport, laddr) ||
      !smppgw::tools::splitHostPort(upstream, uhost, uport) || uport == 0 ||
      !smppgw::net::parseAddress(uhost, uport, uaddr)) {
    std::fprintf(stderr, "smpp-relay: --listen and --upstream need numeric HOST:PORT\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::string stats;
  {
    Loop loop;
    Relay relay(loop, uaddr);
    smppgw::net::Listener listener(loop, [&](uv_stream_t* server) { relay.accept(server); });
    if (int rc = listener.listen(reinterpret_cast<sockaddr*>(&laddr)); rc != 0) {
      std::fprintf(stderr, "smpp-relay: listen %s: %s\n", listen.c_str(), uv_strerror(rc));
      return 1;
    }
    if (!port_file.empty() && !smppgw::tools::writePortFile(port_file, listener.port())) {
      std::fprintf(stderr, "smpp-relay: cannot write %s\n", port_file.c_str());
      return 1;
    }
    auto onSignal = [&](int) { loop.stop(); };
    smppgw::net::Signal sigterm(loop, SIGTERM, onSignal);
    smppgw::net::Signal sigint(loop, SIGINT, onSignal);
    loop.run();
    stats = statsJson(loop.stats(), relay.connections(), relay.queuedWrites());
    listener.close();
    relay.closeAll();
    // Only closing handles keep the loop alive now: this returns once every close callback ran.
    uv_run(loop.raw(), UV_RUN_DEFAULT);
  }
  if (!stats_file.empty()) {
    if (std::FILE* f = std::fopen(stats_file.c_str(), "w")) {
      std::fprintf(f, "%s\n", stats.c_str());
      std::fclose(f);
    }
  }
  std::printf("%s\n", stats.c_str());
  return 0;
}
