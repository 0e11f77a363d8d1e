#include "metrics/exposer.h"

#include <signal.h>
#include <uv.h>

#include <array>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "metrics/registry.h"

namespace smppgw::metrics {

namespace {

constexpr size_t kReadChunk = 16 * 1024;

struct Response {
  int status;
  std::string_view reason;
  std::string_view content_type;
  std::string body;
};

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kExposition = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

class Exposer::Impl {
 public:
  Impl(const Registry& registry, ExposerOptions options)
      : registry_(registry), options_(std::move(options)) {}

  ~Impl() {
    if (thread_.joinable()) {
      uv_async_send(&stop_);  // the one libuv call that is safe from another thread
      thread_.join();
    }
    if (loop_open_) {
      uv_loop_close(&loop_);
    }
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  bool open(std::string& error) {
    if (int rc = uv_loop_init(&loop_); rc != 0) {
      error = std::string("metrics: uv_loop_init: ") + uv_strerror(rc);
      return false;
    }
    loop_open_ = true;
    uv_tcp_init(&loop_, &server_);
    server_.data = this;
    uv_async_init(&loop_, &stop_, onStop);
    stop_.data = this;

    sockaddr_storage addr{};
    int rc =
        uv_ip4_addr(options_.address.c_str(), options_.port, reinterpret_cast<sockaddr_in*>(&addr));
    if (rc != 0) {
      rc = uv_ip6_addr(options_.address.c_str(), options_.port,
                       reinterpret_cast<sockaddr_in6*>(&addr));
    }
    if (rc != 0) {
      error = "metrics: not an IP address: " + options_.address;
    } else if ((rc = uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&addr), 0)) != 0 ||
               (rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 128, onConnection)) != 0) {
      // libuv reports EADDRINUSE at listen, not at bind.
      error = "metrics: cannot listen on " + options_.address + ":" +
              std::to_string(options_.port) + ": " + uv_strerror(rc);
    } else {
      sockaddr_storage bound{};
      int len = sizeof(bound);
      uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&bound), &len);
      port_ = bound.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                  : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
      return true;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);  // runs the close callbacks
    return false;
  }

  void startThread() {
    // The thread blocks every signal: process signals (SIGTERM, SIGHUP) go to the gateway's
    // thread, and a write to a peer that has gone fails with EPIPE instead of raising SIGPIPE.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  uint16_t port() const { return port_; }

  void setReady(bool ready, std::string reason) {
    for (char& c : reason) {
      if (c == '\r' || c == '\n') {
        c = ' ';
      }
    }
    std::lock_guard lock(ready_mu_);
    ready_ = ready;
    reason_ = std::move(reason);
  }

  bool ready() const {
    std::lock_guard lock(ready_mu_);
    return ready_;
  }

 private:
  // One HTTP connection; freed when both its handles have closed.
  struct Conn {
    explicit Conn(Impl& o) : owner(o) {}
    Impl& owner;
    uv_tcp_t tcp{};
    uv_timer_t timer{};  // idle timeout, then write timeout
    uv_write_t write_req{};
    uv_shutdown_t shutdown_req{};
    std::string request;   // the request head read so far (bounded)
    std::string response;  // kept alive until the write completes
    int open_handles = 0;
    bool closing = false;
    bool responded = false;
  };

  static Conn* conn(void* data) { return static_cast<Conn*>(data); }

  static void onConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<Impl*>(server->data);
    if (status < 0 || self->stopping_) {
      return;
    }
    auto owned = std::make_unique<Conn>(*self);
    Conn* c = owned.get();
    uv_tcp_init(&self->loop_, &c->tcp);
    uv_timer_init(&self->loop_, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    self->conns_.emplace(c, std::move(owned));
    // Accept even when over the limit: an unaccepted connection stalls libuv's accept loop.
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
        self->conns_.size() > self->options_.max_connections) {
      self->close(c);
      return;
    }
    uv_timer_start(&c->timer, onTimeout, self->options_.idle_timeout_ms, 0);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), onAlloc, onRead);
  }

  static void onAlloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) {
    Impl& self = conn(h->data)->owner;
    *buf = uv_buf_init(self.read_buf_.data(), static_cast<unsigned>(self.read_buf_.size()));
  }

  static void onRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    Conn* c = conn(s->data);
    Impl& self = c->owner;
    if (n == 0 || c->closing || c->responded) {
      return;
    }
    if (n < 0) {
      self.close(c);
      return;
    }
    const size_t room = self.options_.max_request_bytes - c->request.size();
    const size_t take = std::min(static_cast<size_t>(n), room);
    const size_t from = c->request.size() >= 3 ? c->request.size() - 3 : 0;
    c->request.append(buf->base, take);
    const size_t end = c->request.find("\r\n\r\n", from);
    if (end == std::string::npos) {
      if (take < static_cast<size_t>(n) || c->request.size() >= self.options_.max_request_bytes) {
        self.respond(c,
                     {431, "Request Header Fields Too Large", kTextPlain, "request too large\n"});
      }
      return;
    }
    self.respond(c, self.handle(std::string_view(c->request).substr(0, end)));
  }

  Response handle(std::string_view head) const {
    const std::string_view line = head.substr(0, head.find("\r\n"));
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
      return {400, "Bad Request", kTextPlain, "bad request\n"};
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
      return {400, "Bad Request", kTextPlain, "bad request\n"};
    }
    if (method != "GET") {
      return {405, "Method Not Allowed", kTextPlain, "only GET\n"};
    }
    target = target.substr(0, target.find('?'));
    if (target == options_.metrics_path) {
      return {200, "OK", kExposition, registry_.serialize()};
    }
    if (target == "/healthz") {
      return {200, "OK", kTextPlain, "ok\n"};
    }
    if (target == "/readyz") {
      std::lock_guard lock(ready_mu_);
      if (ready_) {
        return {200, "OK", kTextPlain, "ready\n"};
      }
      return {503, "Service Unavailable", kTextPlain, "not ready: " + reason_ + "\n"};
    }
    return {404, "Not Found", kTextPlain, "not found\n"};
  }

  void respond(Conn* c, Response r) {
    c->responded = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    // From here the timer bounds the write: a client that does not read is dropped.
    uv_timer_start(&c->timer, onTimeout, options_.idle_timeout_ms, 0);
    std::string& out = c->response;
    out.reserve(r.body.size() + 160);
    out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(r.reason);
    out.append("\r\nContent-Type: ").append(r.content_type);
    out.append("\r\nContent-Length: ").append(std::to_string(r.body.size()));
    if (r.status == 405) {
      out.append("\r\nAllow: GET");
    }
    out.append("\r\nConnection: close\r\n\r\n").append(r.body);
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    c->write_req.data = c;
    if (uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, onWrite) != 0) {
      close(c);
    }
  }

  static void onWrite(uv_write_t* req, int status) {
    Conn* c = conn(req->data);
    if (c->closing) {
      return;
    }
    c->shutdown_req.data = c;
    if (status < 0 ||
        uv_shutdown(&c->shutdown_req, reinterpret_cast<uv_stream_t*>(&c->tcp), onShutdown) != 0) {
      c->owner.close(c);
    }
  }

  static void onShutdown(uv_shutdown_t* req, int /*status*/) {
    Conn* c = conn(req->data);
    c->owner.close(c);
  }

  static void onTimeout(uv_timer_t* t) {
    Conn* c = conn(t->data);
    c->owner.close(c);
  }

  void close(Conn* c) {
    if (c->closing) {
      return;
    }
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), onConnClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), onConnClosed);
  }

  static void onConnClosed(uv_handle_t* h) {
    Conn* c = conn(h->data);
    if (--c->open_handles == 0) {
      c->owner.conns_.erase(c);  // frees c
    }
  }

  static void onStop(uv_async_t* a) {
    auto* self = static_cast<Impl*>(a->data);
    self->stopping_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&self->server_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
    for (auto& [c, owned] : self->conns_) {
      self->close(c);
    }
    // uv_run returns once the close callbacks have run: nothing else is left on this loop.
  }

  const Registry& registry_;
  const ExposerOptions options_;
  uv_loop_t loop_{};
  bool loop_open_ = false;
  uv_tcp_t server_{};
  uv_async_t stop_{};
  std::thread thread_;
  uint16_t port_ = 0;
  bool stopping_ = false;                                   // server thread only
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;  // server thread only
  std::array<char, kReadChunk> read_buf_{};                 // server thread only

  mutable std::mutex ready_mu_;
  bool ready_ = false;
  std::string reason_ = "starting";
};

std::unique_ptr<Exposer> Exposer::start(const Registry& registry, ExposerOptions options,
                                        std::string& error) {
  auto impl = std::make_unique<Impl>(registry, std::move(options));
  if (!impl->open(error)) {
    return nullptr;
  }
  impl->startThread();
  return std::make_unique<Exposer>(Key{}, std::move(impl));
}

Exposer::Exposer(Key, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Exposer::~Exposer() = default;

uint16_t Exposer::port() const {
  return impl_->port();
}
void Exposer::setReady() {
  impl_->setReady(true, "");
}
void Exposer::setNotReady(std::string reason) {
  impl_->setReady(false, std::move(reason));
}
bool Exposer::ready() const {
  return impl_->ready();
}

}  // namespace smppgw::metrics
