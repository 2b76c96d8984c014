// The two clients of a visit in the end-to-end tests: a home client serving
// a secret proxy, a laptop client visiting it.
#pragma once

#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/link_relay.hpp"

namespace burrow::e2e {

inline constexpr const char* visit_secret_key = "home-secret-42";

inline std::string secret_proxy(const std::string& name, std::uint16_t local_port,
                         const std::string& extra = "") {
    return "[[proxies]]\nname = \"" + name + "\"\ntype = \"secret\"\nlocal_port = " +
           std::to_string(local_port) + "\nsecret_key = \"" + visit_secret_key + "\"\n" + extra;
}

inline std::string visitor(const std::string& name, const std::string& server_name,
                    std::uint16_t bind_port, const std::string& secret = visit_secret_key) {
    return "[[visitors]]\nname = \"" + name + "\"\nserver_name = \"" + server_name +
           "\"\nsecret_key = \"" + secret + "\"\nbind_port = " + std::to_string(bind_port) + "\n";
}

// A home client serving `proxies_toml` as client_id "home", up and registered.
inline std::unique_ptr<process> start_home(burrow_lab& lab, const std::string& proxies_toml,
                                    const std::string& proxy_name) {
    auto home = lab.start_client(lab.client_config({}, "client_id = \"home\"") + proxies_toml,
                                 "home");
    EXPECT_TRUE(home->wait_log(R"(\[)" + proxy_name + R"(\] proxy up: secret)")) << home->log();
    return home;
}

// A laptop client (client_id `id`) running `toml` (visitors and proxies),
// logged in, with its visitor `name` listening on `port`; through a relay
// at `relay_port` when given (link_relay.hpp).
inline std::unique_ptr<process> start_laptop(burrow_lab& lab, const std::string& id,
                                             const std::string& toml, const std::string& name,
                                             std::uint16_t port, std::uint16_t relay_port = 0) {
    auto config = lab.client_config({}, "client_id = \"" + id + "\"") + toml;
    auto laptop = lab.start_client(relay_port ? via(config, relay_port) : config, id);
    EXPECT_TRUE(laptop->wait_log(R"(\[)" + name + R"(\] visitor listening on 127.0.0.1:)" +
                                 std::to_string(port)))
        << laptop->log();
    EXPECT_TRUE(laptop->wait_log("logged in to")) << laptop->log();
    return laptop;
}

// An echo service behind a home client's secret proxy "echo-secret", a
// laptop visiting it ("v" on `port`), and one user connection through the
// visit that echoed `hello` once.
struct echo_visit {
    echo_visit(burrow_lab& lab, const std::string& hello)
        : echo(echo_handler),
          home(start_home(lab, secret_proxy("echo-secret", echo.port()), "echo-secret")),
          port(free_port()),
          laptop(start_laptop(lab, "laptop", visitor("v", "echo-secret", port), "v", port)),
          user(connect_tcp(port)),
          guard(user, std::chrono::seconds(60)) {
        EXPECT_GE(user, 0);
        echoed = user >= 0 && echo_once(user, hello) == hello;
    }
    ~echo_visit() {
        if (user >= 0) ::close(user);
    }
    tcp_service echo;
    std::unique_ptr<process> home;
    std::uint16_t port;
    std::unique_ptr<process> laptop;
    int user;
    fd_deadline guard;
    bool echoed = false;
};

}  // namespace burrow::e2e
