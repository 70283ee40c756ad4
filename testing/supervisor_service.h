#ifndef TESTING_SUPERVISOR_SERVICE_H_
#define TESTING_SUPERVISOR_SERVICE_H_

// Services the supervisor provides to the children it runs the cases in, such as one PostgreSQL
// server per test binary. A library registers a provider by name at static initialisation (the
// supervisor is the same binary as its children, so it has the same registrations). A child asks
// with Request(name): a REQUEST line on the progress pipe (progress.h), then it blocks on its
// reply channel. The supervisor runs the provider once per binary, with the asking case's clock
// paused, and answers this and every later request (of any child) with the same reply.

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mptest::kit_internal {

// Environment variable naming the child's reply descriptor (a socket the supervisor writes to).
constexpr char kReplyFdEnv[] = "MP_KIT_REPLY_FD";

// Returns the reply's fields (the provider defines their meaning). Runs in the supervisor.
using ServiceProvider = std::function<std::vector<std::string>()>;

// Registers `provider` under `name`; call from a static initialiser. Later registrations of the
// same name are ignored.
bool RegisterSupervisorService(const std::string& name, ServiceProvider provider);

// Supervisor side: the provider registered under `name`, or nullptr.
const ServiceProvider* FindSupervisorService(const std::string& name);

// Child side: set up by StartSupervisedChild.
void SetServiceChannel(int progress_fd, int reply_fd);

// Child side: asks the supervisor for `name` and waits for its reply. nullopt when this process
// is not a supervised child (the caller provides the service itself); {"error", message} when
// the supervisor knows no such service or went away. Thread-safe.
std::optional<std::vector<std::string>> RequestSupervisorService(const std::string& name);

}  // namespace mptest::kit_internal

#endif  // TESTING_SUPERVISOR_SERVICE_H_
