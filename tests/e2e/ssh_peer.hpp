// A real OpenSSH sshd on an ephemeral loopback port, with a config, host key
// and user key of its own (written by the test), and the ssh command lines
// that reach it. Needs root (privilege separation).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace burrow::e2e {

class ssh_peer {
public:
    // `wrap`, when given, makes sshd's command line (to run it in a network
    // namespace, say).
    using wrapper = std::function<std::vector<std::string>(std::vector<std::string>)>;
    explicit ssh_peer(const wrapper& wrap = {});
    ~ssh_peer();
    // sshd is listening.
    bool ready() const { return ready_; }
    std::uint16_t port() const { return port_; }
    std::string log() const { return sshd_ ? sshd_->log() : std::string(); }
    temp_dir& dir() { return dir_; }

    // ssh to root@127.0.0.1:`port` running `command`; with `proxy_command`,
    // through it instead of a port (ssh -o ProxyCommand=...).
    std::vector<std::string> ssh(std::uint16_t port, const std::string& command,
                                 const std::string& proxy_command = "") const;

private:
    temp_dir dir_;
    bool made_run_dir_ = false;
    std::uint16_t port_ = 0;
    std::unique_ptr<process> sshd_;
    bool ready_ = false;
};

}  // namespace burrow::e2e
