// The config loaders (common/config/): the input is a TOML document, read by
// parse_client_config() and parse_server_config(), the code `burrow-client
// verify` and `burrow-server [verify]` run on a file's text (load_*_config()
// reads the file, then does exactly this, then resolves relative paths).
//
// Every input must end as a config or as one config_error listing problems,
// never another exception or a crash. A config that loads must hold what the
// loader promises: each value within its range and passing the same check the
// server applies to what a client registers (common/config/checks.hpp,
// common/host_names.hpp, the vhost router).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <toml++/toml.h>

#include "common/config/checks.hpp"
#include "common/config/client.hpp"
#include "common/config/reader.hpp"
#include "common/config/server.hpp"
#include "common/host_names.hpp"
#include "fuzz_check.hpp"
#include "server/vhost/router.hpp"

namespace burrow {
namespace {

const std::string file_name = "/etc/burrow/fuzz.toml";

void check_problems(const config_error& e) {
    const auto& problems = e.problems();
    FUZZ_CHECK(!problems.empty());
    for (std::size_t i = 0; i < problems.size(); ++i) {
        const auto& p = problems[i];
        FUZZ_CHECK(p.file == file_name);
        FUZZ_CHECK(!p.message.empty());
        // "file:line:column: key: message", in the file's order.
        FUZZ_CHECK(p.to_string().starts_with(file_name));
        if (i > 0)
            FUZZ_CHECK(std::pair(problems[i - 1].line, problems[i - 1].column) <=
                       std::pair(p.line, p.column));
    }
}

bool is_loopback(const std::string& addr) {
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(addr, ec);
    return !ec && ip.is_loopback();
}

// A size key ("64MiB" or an integer) as the document spells it, worked out
// without overflow: a value that loads must be the one the file says.
void check_size(const toml::table& doc, std::string_view table, std::string_view key,
                std::uint64_t loaded) {
    const toml::table* t = table.empty() ? &doc : doc[table].as_table();
    const toml::node* node = t != nullptr ? t->get(key) : nullptr;
    if (node == nullptr) return;
    if (const auto* i = node->as_integer()) {
        FUZZ_CHECK(static_cast<std::uint64_t>(i->get()) == loaded);
        return;
    }
    const auto* s = node->as_string();
    if (s == nullptr) return;
    const std::string& text = s->get();
    unsigned __int128 value = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        value = value * 10 + static_cast<unsigned>(text[digits++] - '0');
    const std::string_view unit = std::string_view(text).substr(digits);
    const unsigned shift = unit == "KiB" ? 10 : unit == "MiB" ? 20 : unit == "GiB" ? 30 : 0;
    value <<= shift;
    FUZZ_CHECK(value == loaded);
}

// What the server's vhost router does with an http/https proxy the client
// registers (server/vhost/table.cpp passes the same fields on).
void check_routable(const proxy_config& p) {
    vhost::router router("example.com");
    const auto error = router.add({p.name, p.custom_domains, p.subdomain, p.locations});
    FUZZ_CHECK(error.empty());
}

void check_client(const client_config& c, const toml::table& doc) {
    FUZZ_CHECK(!c.server_addr.empty());
    FUZZ_CHECK(c.server_port != 0);
    FUZZ_CHECK(!c.client_id.empty());
    FUZZ_CHECK(!c.auth.token.empty());
    FUZZ_CHECK(log_level_problem(c.log.level).empty());
    if (c.tls.enable) FUZZ_CHECK(!c.tls.server_fingerprint.empty() || !c.tls.ca_file.empty());
    if (!c.tls.server_fingerprint.empty())
        FUZZ_CHECK(normalize_fingerprint(c.tls.server_fingerprint) == c.tls.server_fingerprint);
    FUZZ_CHECK(!c.tls.server_name.empty());
    const auto& t = c.transport;
    FUZZ_CHECK(t.pool_count <= 64);
    FUZZ_CHECK(t.heartbeat_interval >= 1 && t.heartbeat_timeout > t.heartbeat_interval);
    FUZZ_CHECK(t.dial_timeout >= 1 && t.max_backoff >= 1);
    FUZZ_CHECK(t.resume_buffer >= (256u << 10) && t.resume_buffer <= (1ull << 30));
    FUZZ_CHECK(t.resume_buffer_total >= (1u << 20) && t.resume_buffer_total <= (64ull << 30));
    check_size(doc, "transport", "resume_buffer", t.resume_buffer);
    check_size(doc, "transport", "resume_buffer_total", t.resume_buffer_total);
    FUZZ_CHECK(is_loopback(c.admin.addr));
    FUZZ_CHECK(c.p2p.keepalive >= 1 && c.p2p.keepalive <= 120);
    FUZZ_CHECK(c.p2p.punch_timeout >= 1 && c.p2p.punch_timeout <= 60);

    std::set<std::string> names;
    std::set<std::uint16_t> ports;
    for (const auto& p : c.proxies) {
        FUZZ_CHECK(name_problem(p.name).empty());
        FUZZ_CHECK(names.insert(p.name).second);
        FUZZ_CHECK(p.type == "tcp" || p.type == "http" || p.type == "https" || p.type == "secret");
        FUZZ_CHECK(!p.local_addr.empty());
        FUZZ_CHECK(p.local_port != 0);
        if (p.remote_port != 0) FUZZ_CHECK(ports.insert(p.remote_port).second);
        if (p.type == "http" || p.type == "https") {
            for (const auto& d : p.custom_domains) FUZZ_CHECK(custom_domain_problem(d).empty());
            if (!p.subdomain.empty()) FUZZ_CHECK(subdomain_problem(p.subdomain).empty());
            // "one of the two is required" (client.hpp)
            FUZZ_CHECK(!p.custom_domains.empty() || !p.subdomain.empty());
            check_routable(p);
        }
        for (const auto& l : p.locations) FUZZ_CHECK(location_problem(l).empty());
        for (const auto& [name, value] : p.request_headers)
            FUZZ_CHECK(header_problem(name, value).empty());
        for (const auto& [name, value] : p.response_headers)
            FUZZ_CHECK(header_problem(name, value).empty());
        // host_header_rewrite goes out as the Host line of every request
        // (server/vhost/request_rewrite.cpp): it must fit in a header line.
        FUZZ_CHECK(header_problem("X-Host", p.host_header_rewrite).empty());
        // RFC 7617: a user-id has no ':'; the server refuses it at registration
        // ("http_user must not contain ':'", server/vhost/table.cpp).
        FUZZ_CHECK(p.http_user.find(':') == std::string::npos);
        FUZZ_CHECK(p.response_timeout >= 1 && p.response_timeout <= 24 * 3600);
        if (p.type == "secret") {
            FUZZ_CHECK(p.secret_key.size() >= 8);
            for (const auto& id : p.allow_clients) FUZZ_CHECK(name_problem(id).empty());
        }
    }
    std::set<std::string> visitors;
    for (const auto& v : c.visitors) {
        FUZZ_CHECK(name_problem(v.name).empty());
        FUZZ_CHECK(visitors.insert(v.name).second);
        FUZZ_CHECK(name_problem(v.server_name).empty());
        if (!v.server_client.empty()) FUZZ_CHECK(name_problem(v.server_client).empty());
        FUZZ_CHECK(v.secret_key.size() >= 8);
        FUZZ_CHECK(!v.bind_addr.empty());
    }
}

void check_server(const server_config& s, const toml::table& doc) {
    FUZZ_CHECK(!s.bind_addr.empty() && !s.proxy_bind_addr.empty() && !s.data_dir.empty());
    for (const auto& r : s.allow_ports) FUZZ_CHECK(r.first >= 1 && r.first <= r.last);
    FUZZ_CHECK(s.heartbeat_timeout >= 1 && s.max_proxies_per_client >= 1);
    FUZZ_CHECK(s.max_pending_connections >= 1 && s.work_timeout >= 1);
    FUZZ_CHECK(s.resume_timeout <= 86400);
    FUZZ_CHECK(s.resume_buffer >= (256u << 10) && s.resume_buffer <= (1ull << 30));
    FUZZ_CHECK(s.resume_buffer_total >= (1u << 20) && s.resume_buffer_total <= (64ull << 30));
    check_size(doc, "", "resume_buffer", s.resume_buffer);
    check_size(doc, "", "resume_buffer_total", s.resume_buffer_total);
    FUZZ_CHECK(s.vhost_http_port == 0 || s.vhost_http_port != s.vhost_https_port);
    if (!s.subdomain_host.empty()) {
        FUZZ_CHECK(subdomain_host_problem(s.subdomain_host).empty());
        std::string lower;
        FUZZ_CHECK(lowercase_name(s.subdomain_host, lower));
    }
    FUZZ_CHECK(s.vhost_header_timeout >= 1 && s.vhost_header_timeout <= 24 * 3600);
    FUZZ_CHECK(s.vhost_max_body_size <= static_cast<std::uint64_t>(INT64_MAX));
    FUZZ_CHECK(!s.auth.token.empty());
    FUZZ_CHECK(s.tls.cert_file.empty() == s.tls.key_file.empty());
    FUZZ_CHECK(!s.dashboard.user.empty());
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(s.dashboard.addr, ec);
    FUZZ_CHECK(!ec);
    if (!ip.is_loopback() && s.dashboard.port != 0) FUZZ_CHECK(!s.dashboard.password.empty());
    if (s.p2p.enable) FUZZ_CHECK(s.p2p.rendezvous_port != 65535);
    FUZZ_CHECK(log_level_problem(s.log.level).empty());
}

// What load_*_config() does after parsing: relative paths next to the file.
template <class Config>
void resolve_like_load(Config& cfg) {
    const auto dir = config_reader::absolute_path(file_name).parent_path();
    if constexpr (std::is_same_v<Config, server_config>) {
        config_reader::resolve_path(dir, cfg.data_dir);
        config_reader::resolve_path(dir, cfg.tls.cert_file);
        config_reader::resolve_path(dir, cfg.tls.key_file);
        FUZZ_CHECK(std::filesystem::path(cfg.data_dir).is_absolute());
    } else {
        config_reader::resolve_path(dir, cfg.tls.ca_file);
    }
}

template <class Config, class Parse, class Check>
void run(std::string_view text, Parse parse, Check check) {
    try {
        Config cfg = parse(text, file_name);
        // It loaded, so the text is a TOML document: read it again for the checks.
        const auto doc = toml::parse(text, std::string_view(file_name));
        check(cfg, doc);
        resolve_like_load(cfg);
    } catch (const config_error& e) {
        check_problems(e);
    }
    // Anything else escapes: libFuzzer reports an uncaught exception as a crash.
}

}  // namespace
}  // namespace burrow

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // ${NAME} references: one set, one empty, one unset (all in config.dict),
    // and those conf/*.toml use.
    for (const char* name : {"BURROW_TOKEN", "NAS_PASSWORD", "SSH_SECRET", "BURROW_DASHBOARD_PASSWORD"})
        setenv(name, "fuzz-secret-value", 1);
    setenv("BURROW_FUZZ_TOKEN", "s3cret-token", 1);
    setenv("BURROW_FUZZ_EMPTY", "", 1);
    unsetenv("BURROW_FUZZ_UNSET");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A config file is at most 1 MiB (read_config_file); -max_len keeps runs far below.
    if (size > (1u << 20)) return 0;
    const auto text = burrow::fuzz::as_text(data, size);
    burrow::run<burrow::client_config>(text, burrow::parse_client_config, burrow::check_client);
    burrow::run<burrow::server_config>(text, burrow::parse_server_config, burrow::check_server);
    return 0;
}
