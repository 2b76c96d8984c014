#include "ssh_peer.hpp"

#include <filesystem>

namespace burrow::e2e {

ssh_peer::ssh_peer(const wrapper& wrap) {
    for (const char* name : {"host_key", "user_key"}) {
        auto r = run({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_.file(name)});
        if (r.code != 0) return;
    }
    std::filesystem::copy_file(dir_.file("user_key.pub"), dir_.file("authorized_keys"));
    port_ = free_port();
    write_text(dir_.file("sshd_config"),
               "ListenAddress 127.0.0.1\nPort " + std::to_string(port_) + "\nHostKey " +
                   dir_.file("host_key") + "\nPidFile " + dir_.file("sshd.pid") +
                   "\nAuthorizedKeysFile " + dir_.file("authorized_keys") +
                   "\nPermitRootLogin yes\nPasswordAuthentication no\nUsePAM no\n"
                   "StrictModes no\nPrintMotd no\n");
    // sshd's privilege separation directory; created (and removed) only if missing.
    made_run_dir_ = std::filesystem::create_directories("/run/sshd");
    std::vector<std::string> argv{"/usr/sbin/sshd", "-D", "-e", "-f", dir_.file("sshd_config")};
    sshd_ = std::make_unique<process>(wrap ? wrap(std::move(argv)) : std::move(argv),
                                      dir_.file("sshd.log"));
    ready_ = sshd_->wait_log("Server listening on 127.0.0.1 port").has_value();
}

ssh_peer::~ssh_peer() {
    sshd_.reset();
    std::error_code ec;
    if (made_run_dir_) std::filesystem::remove("/run/sshd", ec);
}

std::vector<std::string> ssh_peer::ssh(std::uint16_t port, const std::string& command,
                                       const std::string& proxy_command) const {
    std::vector<std::string> argv{"/usr/bin/ssh",
                                  "-F",
                                  "/dev/null",
                                  "-o",
                                  "BatchMode=yes",
                                  "-o",
                                  "StrictHostKeyChecking=no",
                                  "-o",
                                  "UserKnownHostsFile=/dev/null",
                                  "-o",
                                  "ConnectTimeout=10",
                                  "-o",
                                  "LogLevel=ERROR",
                                  "-i",
                                  dir_.file("user_key")};
    if (!proxy_command.empty()) {
        argv.insert(argv.end(), {"-o", "ProxyCommand=" + proxy_command, "root@home"});
    } else {
        argv.insert(argv.end(), {"-p", std::to_string(port), "root@127.0.0.1"});
    }
    argv.push_back(command);
    return argv;
}

}  // namespace burrow::e2e
