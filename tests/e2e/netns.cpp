#include "tests/e2e/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "tests/e2e/harness.hpp"

namespace burrow::e2e {

netns_set::netns_set() : prefix_("bw" + std::to_string(::getpid()) + "-") { remove_leftovers(); }

netns_set::~netns_set() {
    for (const auto& n : made_) cmd({ip, "netns", "del", n});
}

bool netns_set::add(const std::string& name) {
    if (!cmd({ip, "netns", "add", ns(name)})) return false;
    made_.push_back(ns(name));
    return in(name, "ip link set lo up");
}

bool netns_set::cmd(const std::vector<std::string>& argv) {
    const auto r = run(argv, 10s);
    return r.code == 0 || fail("exit " + std::to_string(r.code) + ": " + r.output);
}

bool netns_set::fail(const std::string& what) {
    errors_ += what + "\n";
    return false;
}

bool netns_set::in(const std::string& name, const std::string& line) {
    return cmd({ip, "netns", "exec", ns(name), "/bin/sh", "-c",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin; " + line});
}

std::vector<std::string> netns_set::exec_in(const std::string& name,
                                            const std::vector<std::string>& argv) const {
    std::vector<std::string> all{ip, "netns", "exec", ns(name)};
    all.insert(all.end(), argv.begin(), argv.end());
    return all;
}

bool netns_set::on_thread_in(const std::string& name, const std::function<void()>& f) const {
    bool entered = false;
    std::thread t([&] {
        const int fd = ::open(("/run/netns/" + ns(name)).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        entered = ::setns(fd, CLONE_NEWNET) == 0;
        ::close(fd);
        if (entered) f();
    });
    t.join();
    return entered;
}

// Namespaces of an earlier test run that was killed before its destructor
// ran ("bw<pid>-x" whose process is gone).
void netns_set::remove_leftovers() {
    DIR* d = ::opendir("/run/netns");
    if (!d) return;
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        const auto dash = name.find('-');
        if (name.rfind("bw", 0) != 0 || dash == std::string::npos || dash < 3) continue;
        const auto pid = std::strtol(name.substr(2, dash - 2).c_str(), nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            stale.push_back(name);
    }
    ::closedir(d);
    for (const auto& n : stale) cmd({ip, "netns", "del", n});
}

}  // namespace burrow::e2e
