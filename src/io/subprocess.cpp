// SPDX-License-Identifier: Apache-2.0
#include "io/subprocess.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln::io {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void throw_errno(const std::string& what, int error = errno) {
    throw std::system_error(error, std::generic_category(), what);
}

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f)
        : fd(f) {}
    Fd(Fd&& other) noexcept
        : fd(std::exchange(other.fd, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd = std::exchange(other.fd, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    int release() { return std::exchange(fd, -1); }
};

void make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    read_end = Fd(fds[0]);
    write_end = Fd(fds[1]);
}

std::string find_variable(const std::vector<std::string>& environment, std::string_view name) {
    for (const auto& entry : environment)
        if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
            entry[name.size()] == '=')
            return entry.substr(name.size() + 1);
    return {};
}

// Resolves argv[0] against the child's PATH (not the worker's), as the stock worker's
// os.execvpe does. A name with a slash is used as is, relative to the workdir.
std::string resolve_program(const SpawnOptions& options) {
    const auto& program = options.argv.front();
    if (program.find('/') != std::string::npos) return program;
    std::string path = find_variable(options.environment, "PATH");
    if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::filesystem::path candidate = std::filesystem::path(dir) / program;
        if (candidate.is_relative()) candidate = std::filesystem::path(options.workdir) / candidate;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate))
            return candidate.string();
        start = end + 1;
    }
    return {};
}

// What the child needs between clone (or fork) and exec. A failed step is reported in `error`
// (memory shared with the parent under CLONE_VM) and, after a plain fork, through error_fd.
struct ChildSetup {
    const char* program = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    const char* workdir = nullptr;
    int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
    bool use_pty = false;
    int error_fd = -1;
    int error[2] = {0, 0};  // errno, step (0: none)
};

// Runs in the child between clone/fork and exec: async-signal-safe calls only, no allocation
// (under CLONE_VM the child runs in the parent's memory).
[[noreturn]] void exec_child(ChildSetup& setup) {
    auto fail = [&setup](int step) {
        setup.error[0] = errno;
        setup.error[1] = step;
        if (setup.error_fd >= 0) {
            [[maybe_unused]] auto written =
                ::write(setup.error_fd, setup.error, sizeof setup.error);
        }
        ::_exit(127);
    };
    // Every signal arrives blocked: first the default dispositions (undoing the worker's
    // handlers and SIG_IGN), then unblock, so no parent handler ever runs in the child.
    for (int sig = 1; sig < NSIG; ++sig)
        ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (setup.use_pty) {
        if (::setsid() < 0) fail(1);
        if (::ioctl(setup.stdout_fd, TIOCSCTTY, 0) < 0) fail(2);
    } else if (::setpgid(0, 0) < 0) {
        fail(3);
    }
    if (::dup2(setup.stdin_fd, 0) < 0 || ::dup2(setup.stdout_fd, 1) < 0 ||
        ::dup2(setup.stderr_fd, 2) < 0)
        fail(4);
    ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
    if (::chdir(setup.workdir) < 0) fail(5);
    ::execve(setup.program, setup.argv, setup.envp);
    fail(6);
    ::_exit(127);
}

// The sanitizers' runtimes do not follow a child that shares the parent's memory: plain fork
// there.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KILN_SPAWN_WITH_FORK 1  // clang before 17 does not define __SANITIZE_*__
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(KILN_SPAWN_WITH_FORK)
constexpr bool kShareMemory = false;
#else
constexpr bool kShareMemory = true;
#endif

int child_entry(void* setup) { exec_child(*static_cast<ChildSetup*>(setup)); }

// Starts the child with all signals blocked. With kShareMemory it is posix_spawn's way: the
// child borrows the parent's address space (CLONE_VM: no page-table copy at fork, no
// copy-on-write faults in either process afterwards) on a stack of its own, and this thread
// waits (CLONE_VFORK) until the child has called execve or exited.
pid_t start_child(ChildSetup& setup) {
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = -1;
    int error = 0;
    if constexpr (kShareMemory) {
        constexpr std::size_t kStackBytes = 64 * 1024;
        void* stack = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED) {
            error = errno;
        } else {
            pid = ::clone(child_entry, static_cast<char*>(stack) + kStackBytes,
                          CLONE_VM | CLONE_VFORK | SIGCHLD, &setup);
            error = errno;
            ::munmap(stack, kStackBytes);
        }
    } else {
        pid = ::fork();
        if (pid == 0) exec_child(setup);
        error = errno;
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) throw_errno(kShareMemory ? "clone" : "fork", error);
    return pid;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

struct Subprocess::Impl {
    asio::any_io_executor executor;
    pid_t pid = -1;
    pid_t process_group = -1;
    std::optional<asio::posix::stream_descriptor> stdin_pipe;
    std::optional<asio::posix::stream_descriptor> stdout_pipe;
    std::optional<asio::posix::stream_descriptor> stderr_pipe;
    // One read buffer per output pipe (both may be read at once), allocated once: a pipe read
    // returns only what was written since the last one, often far less than kReadChunk.
    std::unique_ptr<char[]> stdout_buffer;
    std::unique_ptr<char[]> stderr_buffer;
    std::optional<asio::posix::stream_descriptor> pidfd;
    bool use_pty = false;
    bool exited = false;
    ExitStatus status;

    bool try_reap() {
        if (exited) return true;
        int raw = 0;
        pid_t result = ::waitpid(pid, &raw, WNOHANG);
        if (result == pid) {
            exited = true;
            if (WIFSIGNALED(raw))
                status = ExitStatus{-1, WTERMSIG(raw)};
            else if (WIFEXITED(raw))
                status = ExitStatus{WEXITSTATUS(raw), 0};
        } else if (result < 0 && errno == ECHILD) {
            exited = true;  // reaped elsewhere (should not happen): report a failure
            status = ExitStatus{-1, 0};
        }
        return exited;
    }

    asio::awaitable<std::optional<std::string>>
    read_from(std::optional<asio::posix::stream_descriptor>& pipe,
              std::unique_ptr<char[]>& buffer) {
        if (!pipe || !pipe->is_open()) co_return std::nullopt;
        if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(kReadChunk);
        auto [ec, n] =
            co_await pipe->async_read_some(asio::buffer(buffer.get(), kReadChunk), use_tuple);
        if (ec || n == 0) {
            // EOF, or EIO from a PTY master once the child side is closed.
            boost::system::error_code ignored;
            pipe->close(ignored);
            co_return std::nullopt;
        }
        co_return std::string(buffer.get(), n);
    }
};

Subprocess::Subprocess(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

Subprocess::~Subprocess() {
    if (!impl_) return;
    if (!impl_->try_reap()) {
        // Never leave a child behind: an owner that drops a running process kills it.
        signal_all(SIGKILL);
        int raw = 0;
        ::waitpid(impl_->pid, &raw, 0);
    }
}

std::unique_ptr<Subprocess> Subprocess::spawn(asio::any_io_executor executor,
                                              const SpawnOptions& options) {
    if (options.argv.empty()) throw std::invalid_argument("spawn: empty argv");
    std::string program = resolve_program(options);
    if (program.empty())
        throw std::system_error(ENOENT, std::generic_category(),
                                "cannot execute '" + options.argv.front() + "'");

    std::vector<char*> argv;
    for (const auto& arg : options.argv)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& entry : options.environment)
        envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);

    Fd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
    Fd error_read, error_write;
    if (!kShareMemory) make_pipe(error_read, error_write);
    if (options.use_pty) {
        int master = -1;
        int slave = -1;
        if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) throw_errno("openpty");
        ::fcntl(master, F_SETFD, FD_CLOEXEC);
        ::fcntl(slave, F_SETFD, FD_CLOEXEC);
        stdout_read = Fd(master);
        stdout_write = Fd(slave);
        stderr_write = Fd(::dup(slave));
        stdin_read = Fd(::dup(slave));
    } else {
        make_pipe(stdout_read, stdout_write);
        make_pipe(stderr_read, stderr_write);
        if (options.has_stdin) {
            make_pipe(stdin_read, stdin_write);
        } else {
            stdin_read = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        }
    }

    ChildSetup setup;
    setup.program = program.c_str();
    setup.argv = argv.data();
    setup.envp = envp.data();
    setup.workdir = options.workdir.c_str();
    setup.stdin_fd = stdin_read.fd;
    setup.stdout_fd = stdout_write.fd;
    setup.stderr_fd = stderr_write.fd;
    setup.use_pty = options.use_pty;
    setup.error_fd = error_write.fd;
    pid_t pid = start_child(setup);

    if (!options.use_pty) ::setpgid(pid, pid);  // also done by the child: no race either way
    error_write.reset();
    stdin_read.reset();
    stdout_write.reset();
    stderr_write.reset();

    auto& error = setup.error;
    if (!kShareMemory) {
        ssize_t got = 0;
        do {
            got = ::read(error_read.fd, error, sizeof error);
        } while (got < 0 && errno == EINTR);
        if (got != static_cast<ssize_t>(sizeof error)) error[1] = 0;  // exec succeeded
    }
    if (error[1] != 0) {
        int raw = 0;
        ::waitpid(pid, &raw, 0);
        static constexpr std::array<const char*, 7> steps = {
            "", "setsid", "TIOCSCTTY", "setpgid", "dup2", "cannot change to directory", "execve"};
        std::string what = error[1] == 6 ? "cannot execute '" + options.argv.front() + "'"
                           : error[1] == 5
                               ? std::string(steps[5]) + " '" + options.workdir + "'"
                               : std::string("child setup failed in ") +
                                     steps[static_cast<std::size_t>(error[1]) % steps.size()];
        throw std::system_error(error[0], std::generic_category(), what);
    }

    auto impl = std::make_unique<Impl>();
    impl->executor = executor;
    impl->pid = pid;
    impl->process_group = pid;
    impl->use_pty = options.use_pty;
    impl->stdout_pipe.emplace(executor, stdout_read.release());
    if (!options.use_pty) impl->stderr_pipe.emplace(executor, stderr_read.release());
    if (stdin_write.fd >= 0) impl->stdin_pipe.emplace(executor, stdin_write.release());
    int pidfd = pidfd_open(pid);
    if (pidfd >= 0) impl->pidfd.emplace(executor, pidfd);
    return std::unique_ptr<Subprocess>(new Subprocess(std::move(impl)));
}

pid_t Subprocess::pid() const { return impl_->pid; }

asio::awaitable<void> Subprocess::write_stdin_and_close(std::string data) {
    auto& pipe = impl_->stdin_pipe;
    if (!pipe) co_return;
    // A child that exits without reading its stdin is not an error (EPIPE is ignored).
    co_await asio::async_write(*pipe, asio::buffer(data), use_tuple);
    boost::system::error_code ignored;
    pipe->close(ignored);
}

asio::awaitable<std::optional<std::string>> Subprocess::read_stdout() {
    return impl_->read_from(impl_->stdout_pipe, impl_->stdout_buffer);
}

asio::awaitable<std::optional<std::string>> Subprocess::read_stderr() {
    return impl_->read_from(impl_->stderr_pipe, impl_->stderr_buffer);
}

asio::awaitable<ExitStatus> Subprocess::wait() {
    while (!impl_->try_reap()) {
        if (impl_->pidfd) {
            co_await impl_->pidfd->async_wait(asio::posix::descriptor_base::wait_read, use_tuple);
        } else {
            asio::steady_timer timer(impl_->executor, std::chrono::milliseconds(20));
            co_await timer.async_wait(use_tuple);
        }
    }
    co_return impl_->status;
}

bool Subprocess::has_exited() const { return impl_->try_reap(); }

bool Subprocess::signal_all(int signal) {
    bool any = false;
    auto descendants = descendants_of(impl_->pid);
    if (::killpg(impl_->process_group, signal) == 0) any = true;
    if (!impl_->try_reap() && ::kill(impl_->pid, signal) == 0) any = true;
    for (pid_t pid : descendants)
        if (::kill(pid, signal) == 0) any = true;
    return any;
}

void Subprocess::close_pipes() {
    boost::system::error_code ignored;
    for (auto* pipe : {&impl_->stdin_pipe, &impl_->stdout_pipe, &impl_->stderr_pipe})
        if (*pipe) (*pipe)->close(ignored);
}

std::optional<int> signal_from_name(std::string_view name) {
    if (name.starts_with("SIG")) name.remove_prefix(3);
    static const std::map<std::string_view, int> signals = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
        {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},
        {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
        {"TSTP", SIGTSTP}};
    auto it = signals.find(name);
    if (it == signals.end()) return std::nullopt;
    return it->second;
}

std::vector<pid_t> descendants_of(pid_t root) {
    std::multimap<pid_t, pid_t> children;
    if (DIR* proc = ::opendir("/proc")) {
        while (const dirent* entry = ::readdir(proc)) {
            char* end = nullptr;
            long pid = std::strtol(entry->d_name, &end, 10);
            if (*end != '\0' || pid <= 0) continue;
            std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
            std::string line;
            if (!std::getline(stat, line)) continue;
            auto close = line.rfind(')');  // the command name may hold spaces and parentheses
            if (close == std::string::npos || close + 4 > line.size()) continue;
            long parent = std::strtol(line.c_str() + close + 4, nullptr, 10);
            children.emplace(static_cast<pid_t>(parent), static_cast<pid_t>(pid));
        }
        ::closedir(proc);
    }
    std::vector<pid_t> found;
    std::vector<pid_t> queue{root};
    while (!queue.empty()) {
        pid_t parent = queue.back();
        queue.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            found.push_back(it->second);
            queue.push_back(it->second);
        }
    }
    return found;
}

}  // namespace kiln::io
