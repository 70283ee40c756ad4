#ifndef TESTING_PROGRESS_H_
#define TESTING_PROGRESS_H_

// The progress protocol between a supervised test process (the child) and its supervisor.
//
// The child writes one line per GoogleTest event to a pipe (descriptor kProgressFdEnv names),
// one write(2) per line so a line is never torn when the child dies next. Fields are separated
// by tabs; tab, newline and backslash inside a field are escaped (\t \n \\).
//
//   PROGRAM_START                          main reached, static initialisation done
//   ENV_SETUP / ENV_SETUP_DONE             global environments' SetUp
//   SUITE_START <suite>                    SetUpTestSuite follows
//   CASE_START <suite> <case>
//   PART <f|s> <file> <line> <message>     a failure (f) or skip (s) of the running case
//   CASE_END <suite> <case> <passed|failed|skipped> <ms>
//   SUITE_END <suite>                      TearDownTestSuite is done
//   ENV_TEARDOWN                           global environments' TearDown follows
//   PROGRAM_END                            exit follows
//   STALL_REPORTED                         answer to SIGUSR1 (pending work printed on stderr)
//   REQUEST <service>                      the child waits for a service (supervisor_service.h);
//                                          the supervisor answers on the reply channel, one line
//
// The supervisor knows from it which phase the child is in (see Phase) and so which deadline
// applies, which cases ended and how, and whom to blame when the child dies or hangs.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mptest::kit_internal {

// Environment variable naming the child's progress descriptor.
constexpr char kProgressFdEnv[] = "MP_KIT_PROGRESS_FD";

// Where a child is, as far as its progress says.
enum class Phase {
  kStarting,        // static initialisation, main, before PROGRAM_START
  kGlobalSetUp,     // global environments' SetUp
  kBetweenSuites,   // idle between suites
  kSuiteSetUp,      // SetUpTestSuite of `suite`
  kCase,            // running `suite`.`name`
  kAfterCase,       // after a case of `suite`: the next case, or TearDownTestSuite
  kGlobalTearDown,  // global environments' TearDown
  kExiting,         // after PROGRAM_END: static destructors, atexit handlers
};

struct ProgressEvent {
  enum Kind {
    kProgramStart,
    kEnvSetUp,
    kEnvSetUpDone,
    kSuiteStart,
    kCaseStart,
    kPart,
    kCaseEnd,
    kSuiteEnd,
    kEnvTearDown,
    kProgramEnd,
    kStallReported,
    kRequest,
  } kind;
  std::string suite, name;  // kRequest: the service in `name`
  // kPart: 'f' failure or 's' skip, where and what. kCaseEnd: "passed"/"failed"/"skipped", ms.
  char part_type = 0;
  std::string file;
  int line = 0;
  std::string text;
  std::string verdict;
  double millis = 0;
};

// Parses one line (without its newline); nullopt for a malformed line.
std::optional<ProgressEvent> ParseProgressLine(std::string_view line);

// The line format shared by progress lines and service replies: fields joined by tabs, escaped.
std::string EncodeProtocolLine(const std::vector<std::string>& fields);  // ends with '\n'
std::vector<std::string> SplitProtocolLine(std::string_view line);       // without the '\n'

// Child side: writes the protocol to `fd` (does not own it).
class ProgressWriter : public ::testing::EmptyTestEventListener {
 public:
  explicit ProgressWriter(int fd) : fd_(fd) {}
  void OnTestProgramStart(const ::testing::UnitTest&) override;
  void OnEnvironmentsSetUpStart(const ::testing::UnitTest&) override;
  void OnEnvironmentsSetUpEnd(const ::testing::UnitTest&) override;
  void OnTestSuiteStart(const ::testing::TestSuite& suite) override;
  void OnTestStart(const ::testing::TestInfo& info) override;
  void OnTestPartResult(const ::testing::TestPartResult& result) override;
  void OnTestEnd(const ::testing::TestInfo& info) override;
  void OnTestSuiteEnd(const ::testing::TestSuite& suite) override;
  void OnEnvironmentsTearDownStart(const ::testing::UnitTest&) override;
  void OnTestProgramEnd(const ::testing::UnitTest&) override;

  // Writes one line made of `fields`, escaped. Safe from any thread.
  static void Write(int fd, const std::vector<std::string>& fields);

 private:
  int fd_;
};

}  // namespace mptest::kit_internal

#endif  // TESTING_PROGRESS_H_
