// Real peers through a tcp proxy: OpenSSH (use case 2, SSH to the home box)
// and curl against a real HTTP server (use case 1, a web UI).
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "ssh_peer.hpp"

namespace burrow::e2e {
namespace {

TEST(peers, ssh_session_through_a_tcp_proxy) {
    if (geteuid() != 0) GTEST_SKIP() << "sshd with privilege separation needs root";
    ssh_peer sshd;
    ASSERT_TRUE(sshd.ready()) << sshd.log();

    burrow_lab lab(true);
    auto [client, port] = lab.expose("ssh", sshd.port());
    ASSERT_NE(port, 0) << client->log();

    auto r = run(sshd.ssh(port, "echo ssh-through-burrow; head -c 1048576 /dev/zero | sha256sum"),
                 30s);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("ssh-through-burrow"), std::string::npos) << r.output;
    // sha256 of 1 MiB of zeros, computed at home and carried back.
    EXPECT_NE(r.output.find("30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58"),
              std::string::npos)
        << r.output;
}

TEST(peers, curl_downloads_from_a_real_http_server_through_a_tcp_proxy) {
    temp_dir site;
    const auto page = random_bytes(8u << 20, 11);
    write_text(site.file("big.bin"), page);
    const auto web_port = free_port();
    process web({"/usr/bin/python3", "-m", "http.server", std::to_string(web_port), "--bind",
                 "127.0.0.1", "--directory", site.path()},
                site.file("web.log"));
    // Ready once it answers.
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
        int fd = connect_tcp(web_port);
        up = fd >= 0;
        if (fd >= 0) close(fd);
        if (!up) std::this_thread::sleep_for(25ms);
    }
    ASSERT_TRUE(up) << web.log();

    burrow_lab lab;
    auto [client, port] = lab.expose("web", web_port);
    ASSERT_NE(port, 0);
    auto r = run({"/usr/bin/curl", "-sS", "--max-time", "30", "-o", site.file("got.bin"), "-w",
                  "%{http_code}", "http://127.0.0.1:" + std::to_string(port) + "/big.bin"});
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(r.output, "200");
    EXPECT_EQ(sha256_hex(slurp(site.file("got.bin"))), sha256_hex(page));
}

}  // namespace
}  // namespace burrow::e2e
