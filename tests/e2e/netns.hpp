// Network namespaces made by one test (root, as CI runs; ../shared/NATLAB.md).
//
// Every namespace is named "bw<pid>-<name>": the pid says which test process
// owns it, so a later run can remove what a killed run left behind, and two
// test processes never touch each other's namespaces. Tests address them by
// <name> only (two sets alive at once in one process need different names).
// Everything add() made is deleted at destruction, also when the test failed.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace burrow::e2e {

class netns_set {
public:
    static constexpr const char* ip = "/usr/sbin/ip";

    // Removes leftovers: namespaces "bw<pid>-..." whose process is gone.
    netns_set();
    ~netns_set();
    netns_set(const netns_set&) = delete;
    netns_set& operator=(const netns_set&) = delete;

    // Makes namespace `name` with its loopback up; false (and errors()) on failure.
    bool add(const std::string& name);
    // The system's name of namespace `name` ("bw<pid>-<name>"), for `ip netns`.
    std::string ns(const std::string& name) const { return prefix_ + name; }

    // Runs a command to completion (10 s at most); a failure is kept in errors().
    bool cmd(const std::vector<std::string>& argv);
    // A /bin/sh command line in namespace `name`.
    bool in(const std::string& name, const std::string& line);
    // argv of a program run in namespace `name` (for `process`).
    std::vector<std::string> exec_in(const std::string& name,
                                     const std::vector<std::string>& argv) const;
    // Runs `f` on a thread of its own inside namespace `name`, and waits for
    // it: what it opens there (sockets) stays there. False if it could not enter.
    bool on_thread_in(const std::string& name, const std::function<void()>& f) const;

    // Every failed command so far: its exit code and output, one per line.
    const std::string& errors() const { return errors_; }

protected:
    // For users that check their own preconditions: records `what`, returns false.
    bool fail(const std::string& what);

private:
    void remove_leftovers();

    std::string prefix_;
    std::vector<std::string> made_;
    std::string errors_;
};

}  // namespace burrow::e2e
