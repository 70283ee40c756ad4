#include "testing/supervisor_service.h"

#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "testing/progress.h"

namespace mptest::kit_internal {
namespace {

std::map<std::string, ServiceProvider>& Registry() {
  static auto* registry = new std::map<std::string, ServiceProvider>;
  return *registry;
}

std::mutex channel_mu;
int progress_fd = -1;
int reply_fd = -1;
std::string reply_buffer;  // bytes read past the last reply's newline (none expected)

}  // namespace

bool RegisterSupervisorService(const std::string& name, ServiceProvider provider) {
  return Registry().emplace(name, std::move(provider)).second;
}

const ServiceProvider* FindSupervisorService(const std::string& name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : &it->second;
}

void SetServiceChannel(int progress, int reply) {
  std::lock_guard<std::mutex> lock(channel_mu);
  progress_fd = progress;
  reply_fd = reply;
}

std::optional<std::vector<std::string>> RequestSupervisorService(const std::string& name) {
  // One request at a time: replies come back in order on one channel.
  std::lock_guard<std::mutex> lock(channel_mu);
  if (progress_fd < 0 || reply_fd < 0) return std::nullopt;
  ProgressWriter::Write(progress_fd, {"REQUEST", name});
  for (;;) {
    const size_t nl = reply_buffer.find('\n');
    if (nl != std::string::npos) {
      const std::string line = reply_buffer.substr(0, nl);
      reply_buffer.erase(0, nl + 1);
      return SplitProtocolLine(line);
    }
    char buf[4096];
    const ssize_t n = read(reply_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return std::vector<std::string>{
          "error", "the supervisor went away before answering the " + name + " request"};
    }
    reply_buffer.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace mptest::kit_internal
