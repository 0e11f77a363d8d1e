#include "tests/support/prometheus.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace smppgw::test {

namespace {

using Clock = std::chrono::steady_clock;

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool waitFd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc > 0) {
      return true;
    }
    if (rc == 0 || errno != EINTR) {
      return false;
    }
  }
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  std::istringstream in(headers);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const size_t colon = line.find(':');
    if (colon != name.size()) {
      continue;
    }
    bool same = true;
    for (size_t i = 0; i < colon && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(line[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) {
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') {
        ++v;
      }
      return line.substr(v);
    }
  }
  return {};
}

HttpResponse httpGet(const std::string& host, uint16_t port, const std::string& target,
                     std::chrono::milliseconds timeout) {
  HttpResponse r;
  const auto deadline = Clock::now() + timeout;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    r.error = "not an IPv4 address: " + host;
    return r;
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    r.error = std::string("socket: ") + std::strerror(errno);
    return r;
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS || !waitFd(fd.get(), POLLOUT, deadline)) {
      r.error = "connect timed out or failed";
      return r;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      r.error = std::string("connect: ") + std::strerror(err);
      return r;
    }
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host + ":" +
                          std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN && waitFd(fd.get(), POLLOUT, deadline)) {
      continue;
    } else {
      r.error = "send failed";
      return r;
    }
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN && waitFd(fd.get(), POLLIN, deadline)) {
      continue;
    } else if (errno == EINTR) {
      continue;
    } else {
      r.error = raw.empty() ? "no response (timeout or reset)" : "response cut short";
      break;
    }
  }
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0) {
    if (r.error.empty()) {
      r.error = "malformed response";
    }
    return r;
  }
  r.status = std::atoi(raw.c_str() + 9);
  const size_t line_end = raw.find("\r\n");
  r.headers = raw.substr(line_end + 2, head_end - line_end - 2);
  r.body = raw.substr(head_end + 4);
  return r;
}

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::unique_ptr<PrometheusServer> PrometheusServer::start(Options options, std::string& error) {
  auto server = std::make_unique<PrometheusServer>(Key{});
  std::string tmpl = (std::filesystem::temp_directory_path() / "smppgw-prom-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    error = std::string("mkdtemp: ") + std::strerror(errno);
    return nullptr;
  }
  server->dir_ = tmpl;
  const auto config = server->dir_ / "prometheus.yml";
  const auto log = server->dir_ / "prometheus.log";
  {
    std::ofstream out(config);
    out << "global:\n  scrape_interval: " << options.scrape_interval
        << "\n  evaluation_interval: " << options.scrape_interval
        << "\nscrape_configs:\n  - job_name: smppgw\n    metrics_path: " << options.metrics_path
        << "\n    scrape_timeout: " << options.scrape_interval << "\n    static_configs:\n"
        << "      - targets: [";
    for (size_t i = 0; i < options.targets.size(); ++i) {
      out << (i ? ", " : "") << "'" << options.targets[i] << "'";
    }
    out << "]\n";
  }

  std::vector<std::string> args = {
      options.binary,
      "--config.file=" + config.string(),
      "--storage.tsdb.path=" + (server->dir_ / "data").string(),
      "--web.listen-address=127.0.0.1:0",  // the kernel picks a free port: read it from the log
      "--log.level=info",
      "--log.format=logfmt",
  };
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc =
      ::posix_spawnp(&pid, options.binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    error = "cannot run " + options.binary + ": " + std::strerror(rc) +
            " (deploy/install-deps.sh --test installs it)";
    return nullptr;
  }
  server->pid_ = pid;

  // 1. The port, from `msg="Listening on" address=127.0.0.1:PORT`.
  const auto deadline = Clock::now() + options.start_timeout;
  static const std::regex kListening(R"(msg="Listening on" address=127\.0\.0\.1:(\d+))");
  while (server->port_ == 0) {
    std::smatch m;
    const std::string text = readFile(log);
    if (std::regex_search(text, m, kListening)) {
      server->port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
      break;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      error = "prometheus exited during start-up:\n" + text;
      return nullptr;
    }
    if (Clock::now() > deadline) {
      error = "prometheus did not report its port in time:\n" + text;
      return nullptr;  // the destructor stops it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // 2. Readiness (TSDB open, config loaded).
  for (;;) {
    const HttpResponse r =
        httpGet("127.0.0.1", server->port_, "/-/ready", std::chrono::milliseconds(1000));
    if (r.status == 200) {
      return server;
    }
    if (Clock::now() > deadline) {
      error = "prometheus not ready in time:\n" + server->log();
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

PrometheusServer::~PrometheusServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void PrometheusServer::stop() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);  // our own child, by its PID
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

std::string PrometheusServer::log() const {
  return readFile(dir_ / "prometheus.log");
}

std::optional<double> PrometheusServer::query(const std::string& promql, std::string* error) const {
  const HttpResponse r = httpGet("127.0.0.1", port_, "/api/v1/query?query=" + urlEncode(promql));
  auto fail = [&](std::string why) -> std::optional<double> {
    if (error != nullptr) {
      *error = std::move(why);
    }
    return std::nullopt;
  };
  if (r.status != 200) {
    return fail("HTTP " + std::to_string(r.status) + " " + r.error + " " + r.body);
  }
  const auto doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || doc.value("status", "") != "success") {
    return fail("bad answer: " + r.body);
  }
  const auto& data = doc["data"];
  const std::string type = data.value("resultType", "");
  const auto& result = data["result"];
  const nlohmann::json* sample = nullptr;
  if (type == "vector" && result.is_array() && !result.empty()) {
    sample = &result[0]["value"];
  } else if (type == "scalar") {
    sample = &result;
  }
  if (sample == nullptr || !sample->is_array() || sample->size() != 2) {
    return fail("empty result: " + r.body);
  }
  return std::strtod((*sample)[1].get<std::string>().c_str(), nullptr);
}

std::optional<double> PrometheusServer::waitFor(const std::string& promql,
                                                const std::function<bool(double)>& pred,
                                                std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  std::optional<double> last;
  for (;;) {
    if (auto v = query(promql); v) {
      last = v;
      if (pred(*v)) {
        return v;
      }
    }
    if (Clock::now() > deadline) {
      return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace smppgw::test
