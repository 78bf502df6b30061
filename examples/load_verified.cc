// Verify before load with MindSpore Lite in C++ (docs/verify-before-load.md).
//
// `ms-sign verify MODEL --output -` reads the model once and writes those bytes to stdout only
// after they verified; this program reads them from the pipe and builds the model from that
// buffer with Model::Build(buf, size, kMindIR_Lite, ctx). It never opens MODEL itself.
//
//   g++ -std=c++17 -O2 load_verified.cc -I"$LITE/runtime" -L"$LITE/runtime/lib" -lmindspore-lite
//   ./load_verified model.ms -t trust.json --name acme/detector
//
// Without the MindSpore Lite headers it still builds (the tests compile it that way) and reports
// how many verified bytes it received instead of building the model.
#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#if __has_include("include/api/model.h")
#include "include/api/context.h"
#include "include/api/model.h"
#define HAVE_MINDSPORE_LITE 1
#endif

extern char **environ;

// The verified bytes of `model`: runs `ms-sign verify MODEL --output - -q ARGS...` and reads its
// stdout. Throws unless ms-sign exited 0. ms-sign writes nothing on failure, but the exit status
// is what decides: never build from the bytes before it is known.
static std::vector<char> ReadVerified(const std::string &model, const std::vector<std::string> &verify_args) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {"ms-sign", "verify", model, "--output", "-", "-q"};
  args.insert(args.end(), verify_args.begin(), verify_args.end());
  std::vector<char *> argv;
  for (auto &arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  pid_t pid;
  int spawned = posix_spawnp(&pid, "ms-sign", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot run ms-sign (is it on PATH?)");
  }

  std::vector<char> bytes;
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n > 0) bytes.insert(bytes.end(), chunk, chunk + n);
    else if (n == 0) break;
    else if (errno != EINTR) break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(model + " is not verified (ms-sign exit code " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + ")");
  }
  return bytes;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [VERIFY OPTIONS...]\n", argv[0]);
    return 2;
  }
  std::vector<char> bytes;
  try {
    bytes = ReadVerified(argv[1], std::vector<std::string>(argv + 2, argv + argc));
  } catch (const std::exception &error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
#ifdef HAVE_MINDSPORE_LITE
  auto context = std::make_shared<mindspore::Context>();
  context->MutableDeviceInfo().push_back(std::make_shared<mindspore::CPUDeviceInfo>());
  mindspore::Model model;
  // The buffer holds exactly the bytes ms-sign verified; nothing maps or reopens the file.
  auto status = model.Build(bytes.data(), bytes.size(), mindspore::kMindIR_Lite, context);
  if (status != mindspore::kSuccess) {
    std::fprintf(stderr, "MindSpore Lite could not build %s\n", argv[1]);
    return 1;
  }
  std::printf("built %s from %zu verified bytes\n", argv[1], bytes.size());
#else
  std::printf("received %zu verified bytes of %s (built without MindSpore Lite)\n", bytes.size(), argv[1]);
#endif
  return 0;
}
