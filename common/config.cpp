// Configuration loading: parse (toml++) -> defaults -> validate (DESIGN.md §4).
//
// Defaults live in the structs' member initialisers, so validation only has to
// look at the keys the file actually sets. Every problem is collected with the
// position of the node that caused it and reported together at the end: a user
// fixing a config file should see the whole list in one run, not one per run.
#include "common/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/host_names.hpp"

namespace burrow {

std::string config_problem::to_string() const {
    std::string out = file;
    if (line != 0) out += fmt::format(":{}:{}", line, column);
    out += ": ";
    if (!key.empty()) {
        out += key;
        out += ": ";
    }
    out += message;
    return out;
}

namespace {

std::string join_problems(const std::vector<config_problem>& problems) {
    std::string out;
    for (const auto& p : problems) {
        if (!out.empty()) out += '\n';
        out += p.to_string();
    }
    return out;
}

// Parses a decimal port 1..65535: digits only, so "+80", " 80" and "0x50" are malformed.
std::optional<std::uint16_t> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (value < 1 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// parse_port_range with a reason, so allow_ports errors can say what is wrong.
std::optional<std::string> port_range_error(std::string_view spec, port_range& out) {
    const auto dash = spec.find('-');
    const auto first_text = spec.substr(0, dash);
    const auto last_text = dash == std::string_view::npos ? first_text : spec.substr(dash + 1);
    const auto first = parse_port(first_text);
    const auto last = parse_port(last_text);
    if (!first || !last) {
        return fmt::format(
            "malformed port range \"{}\" (expected a port 1..65535 like \"7022\" or a range like "
            "\"6000-6100\")",
            spec);
    }
    if (*first > *last) {
        return fmt::format("port range \"{}\" is empty: {} is greater than {}", spec, *first, *last);
    }
    out = {*first, *last};
    return std::nullopt;
}

const char* type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a floating-point number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

bool is_bare_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

bool is_env_name_char(char c, bool first) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

// Expands ${NAME} from the environment; "$${" stands for a literal "${" and any
// other '$' is kept as is. Returns the reason on failure.
std::optional<std::string> expand_env(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size();) {
        if (in.compare(i, 3, "$${") == 0) {
            out += "${";
            i += 3;
            continue;
        }
        if (in.compare(i, 2, "${") != 0) {
            out += in[i++];
            continue;
        }
        const auto close = in.find('}', i + 2);
        if (close == std::string_view::npos) {
            return "unterminated \"${\" (write \"$${\" for a literal \"${\")";
        }
        const auto name = in.substr(i + 2, close - i - 2);
        bool valid = !name.empty();
        for (std::size_t k = 0; valid && k < name.size(); ++k) valid = is_env_name_char(name[k], k == 0);
        if (!valid) return fmt::format("\"${{{}}}\" is not a valid environment variable reference", name);
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return fmt::format("environment variable {} is not set", name);
        out += value;
        i = close + 1;
    }
    return std::nullopt;
}

// What a read_* call found, so callers can tell "not given" (keep the default,
// or report a missing required key) from "given but wrong" (already reported).
enum class field { absent, invalid, ok };

// Collects problems for one file. Sorting by position at the end makes the list
// read top to bottom like the file, whatever order the checks ran in.
class problem_list {
public:
    explicit problem_list(std::string file) : file_(std::move(file)) {}

    const std::string& file() const noexcept { return file_; }

    void add(const toml::source_position& at, std::string key, std::string message) {
        problems_.push_back({file_, at.line, at.column, std::move(key), std::move(message)});
    }

    void throw_if_any() {
        if (problems_.empty()) return;
        std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
        throw config_error(std::move(problems_));
    }

private:
    std::string file_;
    std::vector<config_problem> problems_;
};

// Reads the keys of one TOML table into config fields. Every key looked up is
// remembered, so finish() can report all the others as unknown: that is how a
// misspelt key is caught at any depth instead of being silently ignored.
//
// A reader over an absent table (table_ == nullptr) finds every key absent;
// `where` is then the enclosing table's position, used for missing-key problems.
class table_reader {
public:
    table_reader(problem_list& problems, const toml::table* table, std::string path,
                 toml::source_position where)
        : problems_(problems), table_(table), path_(std::move(path)), where_(where) {}

    // The dotted path of `key` in this table, e.g. "proxies[1].remote_port".
    std::string key_path(std::string_view key) const {
        std::string name = is_bare_key(key) ? std::string(key) : fmt::format("\"{}\"", key);
        return path_.empty() ? name : fmt::format("{}.{}", path_, name);
    }

    const toml::node* get(std::string_view key) {
        known_.emplace_back(key);
        return table_ != nullptr ? table_->get(key) : nullptr;
    }

    // Reports a required key that is not there, at the table that should hold it.
    void missing(std::string_view key, std::string message = "required key is missing") {
        problems_.add(where_, key_path(key), std::move(message));
    }

    void problem(const toml::node& at, std::string_view key, std::string message) {
        problems_.add(at.source().begin, key_path(key), std::move(message));
    }

    field read(std::string_view key, std::string& out) {
        const auto* node = get(key);
        if (node == nullptr) return field::absent;
        return read_string(problems_, *node, key_path(key), out) ? field::ok : field::invalid;
    }

    field read(std::string_view key, bool& out) {
        const auto* node = get(key);
        if (node == nullptr) return field::absent;
        if (const auto* value = node->as_boolean()) {
            out = value->get();
            return field::ok;
        }
        type_problem(*node, key, "a boolean (true or false)");
        return field::invalid;
    }

    // Unsigned integers are range-checked before narrowing, so -1 or 2^40 in a
    // uint32 field is an error instead of a silent wraparound.
    template <typename T>
    field read(std::string_view key, T& out, std::uint64_t min, std::uint64_t max) {
        const auto* node = get(key);
        if (node == nullptr) return field::absent;
        std::uint64_t value = 0;
        if (!read_uint(problems_, *node, key_path(key), min, max, value)) return field::invalid;
        out = static_cast<T>(value);
        return field::ok;
    }

    field read_port(std::string_view key, std::uint16_t& out, bool zero_allowed) {
        return read(key, out, zero_allowed ? 0 : 1, 65535);
    }

    // A sub-table; absent or of the wrong type gives a reader that finds nothing.
    table_reader table(std::string_view key) {
        const auto* node = get(key);
        const toml::table* sub = nullptr;
        if (node != nullptr) {
            sub = node->as_table();
            if (sub == nullptr) type_problem(*node, key, "a table");
        }
        return {problems_, sub, key_path(key), sub != nullptr ? sub->source().begin : where_};
    }

    // Reports every key of the table that no read asked for.
    void finish() {
        if (table_ == nullptr) return;
        for (auto&& [key, node] : *table_) {
            if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
            problems_.add(key.source().begin, key_path(printable(key.str())), "unknown key");
        }
    }

    void type_problem(const toml::node& node, std::string_view key, std::string_view expected) {
        problem(node, key, fmt::format("expected {}, got {}", expected, type_name(node.type())));
    }

    // Shared with array elements, which have no table_reader of their own.
    static bool read_string(problem_list& problems, const toml::node& node, std::string key,
                            std::string& out) {
        const auto* value = node.as_string();
        if (value == nullptr) {
            problems.add(node.source().begin, std::move(key),
                         fmt::format("expected a string, got {}", type_name(node.type())));
            return false;
        }
        std::string expanded;
        if (auto error = expand_env(value->get(), expanded)) {
            problems.add(node.source().begin, std::move(key), std::move(*error));
            return false;
        }
        out = std::move(expanded);
        return true;
    }

    static bool read_uint(problem_list& problems, const toml::node& node, std::string key,
                          std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
        const auto* value = node.as_integer();
        if (value == nullptr) {
            problems.add(node.source().begin, std::move(key),
                         fmt::format("expected an integer, got {}", type_name(node.type())));
            return false;
        }
        const std::int64_t v = value->get();
        if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
            problems.add(node.source().begin, std::move(key),
                         fmt::format("must be between {} and {}, got {}", min, max, v));
            return false;
        }
        out = static_cast<std::uint64_t>(v);
        return true;
    }

private:
    problem_list& problems_;
    const toml::table* table_;
    std::string path_;
    toml::source_position where_;
    std::vector<std::string> known_;
};

constexpr std::uint64_t uint32_max = std::numeric_limits<std::uint32_t>::max();

std::optional<toml::table> parse_toml(std::string_view text, problem_list& problems) {
    try {
        return toml::parse(text, std::string_view(problems.file()));
    } catch (const toml::parse_error& e) {
        problems.add(e.source().begin, "", std::string(e.description()));
        return std::nullopt;
    }
}

// Reports an empty string given for a key that needs a value.
void require_non_empty(table_reader& r, std::string_view key, const std::string& value) {
    if (value.empty()) r.problem(*r.get(key), key, "must not be empty");
}

void read_non_empty(table_reader& r, std::string_view key, std::string& out) {
    if (r.read(key, out) == field::ok) require_non_empty(r, key, out);
}

void read_required(table_reader& r, std::string_view key, std::string& out) {
    if (const auto f = r.read(key, out); f == field::absent) {
        r.missing(key);
    } else if (f == field::ok) {
        require_non_empty(r, key, out);
    }
}

// Proxy names and client ids appear in logs, metrics and the dashboard, so they
// are kept to a small, unambiguous alphabet.
std::optional<std::string> name_error(std::string_view name) {
    if (name.empty()) return "must not be empty";
    if (name.size() > 64) return fmt::format("is {} characters long; at most 64 are allowed", name.size());
    for (char c : name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-';
        if (!ok) return fmt::format("\"{}\" may only contain letters, digits, '.', '_' and '-'", name);
    }
    return std::nullopt;
}

void read_log(table_reader& root, log_config& log) {
    auto r = root.table("log");
    if (r.read("level", log.level) == field::ok) {
        static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error", "off"};
        if (std::find(std::begin(levels), std::end(levels), log.level) == std::end(levels)) {
            r.problem(*r.get("level"), "level",
                      fmt::format("unknown log level \"{}\" (expected trace, debug, info, warn, "
                                  "error or off)",
                                  log.level));
        }
    }
    r.finish();
}

void read_allow_ports(table_reader& root, problem_list& problems, std::vector<port_range>& out) {
    const auto* node = root.get("allow_ports");
    if (node == nullptr) return;
    const auto* array = node->as_array();
    if (array == nullptr) {
        root.type_problem(*node, "allow_ports", "an array of ports and port ranges");
        return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& element = *array->get(i);
        auto key = fmt::format("{}[{}]", root.key_path("allow_ports"), i);
        if (element.is_integer()) {
            std::uint64_t port = 0;
            if (table_reader::read_uint(problems, element, key, 1, 65535, port)) {
                const auto p = static_cast<std::uint16_t>(port);
                out.push_back({p, p});
            }
        } else if (element.is_string()) {
            std::string spec;
            if (!table_reader::read_string(problems, element, key, spec)) continue;
            port_range range;
            if (auto error = port_range_error(spec, range)) {
                problems.add(element.source().begin, std::move(key), std::move(*error));
            } else {
                out.push_back(range);
            }
        } else {
            problems.add(element.source().begin, std::move(key),
                         fmt::format("expected a port number or a \"first-last\" range string, got {}",
                                     type_name(element.type())));
        }
    }
}

// "sha256:" + 64 hex digits, bare or colon-separated in pairs, any case.
std::optional<std::string> normalize_fingerprint(std::string_view text) {
    constexpr std::string_view prefix = "sha256:";
    if (text.size() < prefix.size()) return std::nullopt;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return std::nullopt;
    }
    auto digits = text.substr(prefix.size());
    const bool colons = digits.size() == 64 + 31;
    if (!colons && digits.size() != 64) return std::nullopt;

    std::string out(prefix);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const char c = digits[i];
        if (colons && i % 3 == 2) {
            if (c != ':') return std::nullopt;
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// An array of strings; each element is checked by `problem_of` ("" = fine).
void read_string_array(table_reader& r, problem_list& problems, std::string_view key,
                       std::vector<std::string>& out,
                       const std::function<std::string(std::string_view)>& problem_of) {
    const auto* node = r.get(key);
    if (node == nullptr) return;
    const auto* array = node->as_array();
    if (array == nullptr) {
        r.type_problem(*node, key, "an array of strings");
        return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& element = *array->get(i);
        auto path = fmt::format("{}[{}]", r.key_path(key), i);
        std::string value;
        if (!table_reader::read_string(problems, element, path, value)) continue;
        if (auto problem = problem_of(value); !problem.empty()) {
            problems.add(element.source().begin, std::move(path),
                         fmt::format("\"{}\": {}", value, problem));
            continue;
        }
        out.push_back(std::move(value));
    }
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Headers a proxy may set: valid names, values without line breaks, and none
// that would change how the message is framed or routed.
std::string header_problem(std::string_view name, std::string_view value) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
        return "is not a valid header name";
    static constexpr std::string_view reserved[] = {
        "connection", "content-length", "transfer-encoding", "upgrade", "te",
        "trailer", "keep-alive", "proxy-connection", "host"};
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(std::begin(reserved), std::end(reserved), lower) != std::end(reserved))
        return lower == "host" ? "cannot be set here; use host_header_rewrite"
                               : "frames the message and cannot be set";
    for (char c : value) {
        if (c == '\r' || c == '\n' || c == '\0') return "value contains a line break or NUL";
    }
    return "";
}

void read_header_table(table_reader& parent, problem_list& problems, std::string_view key,
                       std::vector<std::pair<std::string, std::string>>& out) {
    auto r = parent.table(key);
    const auto* node = parent.get(key);
    const auto* table = node != nullptr ? node->as_table() : nullptr;
    if (table == nullptr) return;
    for (auto&& [name, value_node] : *table) {
        const auto path = r.key_path(name.str());
        std::string value;
        if (!table_reader::read_string(problems, value_node, path, value)) continue;
        if (auto problem = header_problem(name.str(), value); !problem.empty()) {
            problems.add(name.source().begin, path, fmt::format("header \"{}\" {}", name.str(), problem));
            continue;
        }
        out.emplace_back(name.str(), std::move(value));
    }
}

void read_http_keys(table_reader& r, problem_list& problems, proxy_config& proxy) {
    read_string_array(r, problems, "custom_domains", proxy.custom_domains, custom_domain_problem);
    if (r.read("subdomain", proxy.subdomain) == field::ok) {
        const auto problem = proxy.subdomain.find('.') != std::string::npos
                                 ? std::string("must be a single label such as \"nas\"")
                                 : custom_domain_problem(proxy.subdomain);
        if (!problem.empty()) r.problem(*r.get("subdomain"), "subdomain", problem);
    }
    if (proxy.custom_domains.empty() && proxy.subdomain.empty() && r.get("custom_domains") == nullptr &&
        r.get("subdomain") == nullptr)
        r.missing("custom_domains", fmt::format("a {} proxy needs custom_domains or subdomain", proxy.type));
    if (proxy.type != "http") return;
    read_string_array(r, problems, "locations", proxy.locations, location_problem);
    r.read("host_header_rewrite", proxy.host_header_rewrite);
    read_header_table(r, problems, "request_headers", proxy.request_headers);
    read_header_table(r, problems, "response_headers", proxy.response_headers);
    const auto user = r.read("http_user", proxy.http_user);
    const auto password = r.read("http_password", proxy.http_password);
    if (user == field::ok && password == field::absent)
        r.missing("http_password", "required when http_user is set");
    else if (password == field::ok && user == field::absent)
        r.missing("http_user", "required when http_password is set");
    r.read("response_timeout", proxy.response_timeout, 1, 24 * 3600);
    r.read("response_idle_timeout", proxy.response_idle_timeout, 0, 7 * 24 * 3600);
    r.read("allow_connect", proxy.allow_connect);
}

void read_proxy(table_reader& r, problem_list& problems, proxy_config& proxy) {
    if (const auto f = r.read("name", proxy.name); f == field::absent) {
        r.missing("name");
    } else if (f == field::ok) {
        if (auto error = name_error(proxy.name)) r.problem(*r.get("name"), "name", "proxy name " + *error);
    }
    if (r.read("type", proxy.type) == field::ok && proxy.type != "tcp" && proxy.type != "http" &&
        proxy.type != "https") {
        r.problem(*r.get("type"), "type",
                  fmt::format("unknown proxy type \"{}\" (expected tcp, http or https)", proxy.type));
    }
    read_non_empty(r, "local_addr", proxy.local_addr);
    if (r.read_port("local_port", proxy.local_port, false) == field::absent) r.missing("local_port");
    if (proxy.type == "tcp") {
        r.read_port("remote_port", proxy.remote_port, true);
    } else if (proxy.type == "http" || proxy.type == "https") {
        if (const auto* port = r.get("remote_port"))
            r.problem(*port, "remote_port",
                      fmt::format("a {} proxy has no port of its own; users reach it on the server's "
                                  "vhost_{}_port by its domain", proxy.type, proxy.type));
        read_http_keys(r, problems, proxy);
    }
    // Keys of another type are reported as unknown by finish().
    r.finish();
}

void read_proxies(table_reader& root, problem_list& problems, std::vector<proxy_config>& out) {
    const auto* node = root.get("proxies");
    if (node == nullptr) return;
    const auto* array = node->as_array();
    if (array == nullptr) {
        root.type_problem(*node, "proxies", "an array of tables ([[proxies]])");
        return;
    }
    // Where each name and remote port was first seen, to point duplicates at the original.
    std::map<std::string, std::uint32_t> name_lines;
    std::map<std::uint16_t, std::string> remote_port_owners;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& element = *array->get(i);
        const auto path = fmt::format("{}[{}]", root.key_path("proxies"), i);
        const auto* table = element.as_table();
        if (table == nullptr) {
            problems.add(element.source().begin, path,
                         fmt::format("expected a table, got {}", type_name(element.type())));
            continue;
        }
        table_reader r(problems, table, path, table->source().begin);
        proxy_config proxy;
        read_proxy(r, problems, proxy);

        // Only names and ports that were actually given can clash.
        if (const auto* name = table->get("name"); name != nullptr && !proxy.name.empty()) {
            const auto line = name->source().begin.line;
            if (auto [it, fresh] = name_lines.emplace(proxy.name, line); !fresh) {
                r.problem(*name, "name",
                          fmt::format("duplicate proxy name \"{}\" (first defined at line {})",
                                      proxy.name, it->second));
            }
        }
        if (const auto* port = table->get("remote_port"); port != nullptr && proxy.remote_port != 0) {
            const auto owner = proxy.name.empty() ? path : fmt::format("proxy \"{}\"", proxy.name);
            if (auto [it, fresh] = remote_port_owners.emplace(proxy.remote_port, owner); !fresh) {
                r.problem(*port, "remote_port",
                          fmt::format("remote port {} is already claimed by {}", proxy.remote_port,
                                      it->second));
            }
        }
        out.push_back(std::move(proxy));
    }
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "burrow-client";
    return buf;
}

// A config file is a small regular file. Anything else is refused before a
// byte is read: a FIFO would block for ever, /dev/zero would never end.
std::string read_file(const std::string& path) {
    constexpr std::size_t max_size = 1 << 20;
    auto fail = [&path](std::string message) {
        return config_error({{path, 0, 0, "", std::move(message)}});
    };
    auto cannot = [&fail](int err) {
        return fail(fmt::format("cannot read the file: {}", std::strerror(err)));
    };
    // O_NONBLOCK: opening a FIFO without a writer would block.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) throw cannot(errno);
    struct fd_closer {
        int owned;
        ~fd_closer() { ::close(owned); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw cannot(errno);
    if (!S_ISREG(st.st_mode)) {
        const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISFIFO(st.st_mode) ? "a FIFO"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "a device";
        throw fail(fmt::format("not a regular file (it is {})", kind));
    }
    const auto too_big = [&fail] { return fail("the file is larger than 1 MiB"); };
    if (static_cast<std::uintmax_t>(st.st_size) > max_size) throw too_big();
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw cannot(errno);
        if (n == 0) return text;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max_size) throw too_big();  // it grew meanwhile
    }
}

// Relative paths in a config file mean "next to the config file", so a service
// started from any working directory finds the same files.
void resolve_path(const std::filesystem::path& dir, std::string& path) {
    if (path.empty() || std::filesystem::path(path).is_absolute()) return;
    path = (dir / path).lexically_normal().string();
}

std::filesystem::path absolute_path(const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal();
}

}  // namespace

config_error::config_error(std::vector<config_problem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

bool parse_port_range(std::string_view spec, port_range& out) {
    return !port_range_error(spec, out).has_value();
}

server_config parse_server_config(std::string_view text, const std::string& path) {
    problem_list problems(path);
    server_config cfg;
    cfg.file = path;
    const auto doc = parse_toml(text, problems);
    problems.throw_if_any();

    table_reader root(problems, &*doc, "", doc->source().begin);
    read_non_empty(root, "bind_addr", cfg.bind_addr);
    root.read_port("bind_port", cfg.bind_port, true);
    read_non_empty(root, "proxy_bind_addr", cfg.proxy_bind_addr);
    read_allow_ports(root, problems, cfg.allow_ports);
    read_non_empty(root, "data_dir", cfg.data_dir);
    root.read("heartbeat_timeout", cfg.heartbeat_timeout, 1, uint32_max);
    root.read("max_proxies_per_client", cfg.max_proxies_per_client, 1, uint32_max);
    root.read("max_pending_connections", cfg.max_pending_connections, 1, uint32_max);
    root.read("work_timeout", cfg.work_timeout, 1, uint32_max);
    root.read_port("vhost_http_port", cfg.vhost_http_port, true);
    root.read_port("vhost_https_port", cfg.vhost_https_port, true);
    if (root.read("subdomain_host", cfg.subdomain_host) == field::ok && !cfg.subdomain_host.empty()) {
        if (auto problem = custom_domain_problem(cfg.subdomain_host);
            !problem.empty() || cfg.subdomain_host.starts_with("*"))
            root.problem(*root.get("subdomain_host"), "subdomain_host",
                         problem.empty() ? "must be a plain domain such as example.com" : problem);
        for (auto& c : cfg.subdomain_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    root.read("vhost_header_timeout", cfg.vhost_header_timeout, 1, 24 * 3600);
    root.read("vhost_max_body_size", cfg.vhost_max_body_size, 0,
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    root.read("vhost_body_timeout", cfg.vhost_body_timeout, 0, 24 * 3600);
    root.read("vhost_body_min_rate", cfg.vhost_body_min_rate, 0, uint32_max);
    root.read("vhost_start_grace", cfg.vhost_start_grace, 0, 24 * 3600);
    if (cfg.vhost_http_port != 0 && cfg.vhost_http_port == cfg.vhost_https_port)
        root.problem(*root.get("vhost_https_port"), "vhost_https_port",
                     "must differ from vhost_http_port");

    {
        auto auth = root.table("auth");
        read_required(auth, "token", cfg.auth.token);
        auth.finish();
    }
    {
        auto tls = root.table("tls");
        tls.read("enable", cfg.tls.enable);
        const auto cert = tls.read("cert_file", cfg.tls.cert_file);
        const auto key = tls.read("key_file", cfg.tls.key_file);
        if (cert == field::ok) require_non_empty(tls, "cert_file", cfg.tls.cert_file);
        if (key == field::ok) require_non_empty(tls, "key_file", cfg.tls.key_file);
        // A certificate without its key (or the reverse) cannot be served: the
        // other half is a required key as soon as one is given.
        if (cert == field::ok && key == field::absent) {
            tls.missing("key_file", "required when tls.cert_file is set");
        } else if (key == field::ok && cert == field::absent) {
            tls.missing("cert_file", "required when tls.key_file is set");
        }
        tls.finish();
    }
    read_log(root, cfg.log);
    root.finish();
    problems.throw_if_any();
    return cfg;
}

client_config parse_client_config(std::string_view text, const std::string& path) {
    problem_list problems(path);
    client_config cfg;
    cfg.file = path;
    const auto doc = parse_toml(text, problems);
    problems.throw_if_any();

    table_reader root(problems, &*doc, "", doc->source().begin);
    read_required(root, "server_addr", cfg.server_addr);
    root.read_port("server_port", cfg.server_port, false);
    if (root.read("client_id", cfg.client_id) == field::ok) {
        if (auto error = name_error(cfg.client_id)) root.problem(*root.get("client_id"), "client_id", *error);
    }

    {
        auto auth = root.table("auth");
        read_required(auth, "token", cfg.auth.token);
        auth.finish();
    }
    {
        auto tls = root.table("tls");
        tls.read("enable", cfg.tls.enable);
        const auto fingerprint = tls.read("server_fingerprint", cfg.tls.server_fingerprint);
        if (fingerprint == field::ok) {
            if (auto normal = normalize_fingerprint(cfg.tls.server_fingerprint)) {
                cfg.tls.server_fingerprint = std::move(*normal);
            } else {
                tls.problem(*tls.get("server_fingerprint"), "server_fingerprint",
                            fmt::format("malformed fingerprint \"{}\" (expected \"sha256:\" followed by "
                                        "64 hex digits, optionally colon-separated in pairs)",
                                        cfg.tls.server_fingerprint));
            }
        }
        const auto ca = tls.read("ca_file", cfg.tls.ca_file);
        if (ca == field::ok) require_non_empty(tls, "ca_file", cfg.tls.ca_file);
        tls.read("server_name", cfg.tls.server_name);
        // The client always authenticates the server; only a value that is
        // absent (not one already reported as wrong) makes this a problem.
        if (cfg.tls.enable && fingerprint == field::absent && ca == field::absent) {
            tls.missing("server_fingerprint",
                        "tls is enabled, so tls.server_fingerprint or tls.ca_file is required");
        }
        tls.finish();
    }
    {
        auto t = root.table("transport");
        t.read("pool_count", cfg.transport.pool_count, 0, 64);
        const auto interval = t.read("heartbeat_interval", cfg.transport.heartbeat_interval, 1, uint32_max);
        const auto timeout = t.read("heartbeat_timeout", cfg.transport.heartbeat_timeout, 1, uint32_max);
        if (interval != field::invalid && timeout != field::invalid &&
            cfg.transport.heartbeat_timeout <= cfg.transport.heartbeat_interval) {
            // Point at whichever of the two the file set; the timeout if both.
            const auto* at = t.get(timeout == field::ok ? "heartbeat_timeout" : "heartbeat_interval");
            t.problem(*at, timeout == field::ok ? "heartbeat_timeout" : "heartbeat_interval",
                      fmt::format("heartbeat_timeout ({}) must be greater than heartbeat_interval ({})",
                                  cfg.transport.heartbeat_timeout, cfg.transport.heartbeat_interval));
        }
        t.read("dial_timeout", cfg.transport.dial_timeout, 1, uint32_max);
        t.read("max_backoff", cfg.transport.max_backoff, 1, uint32_max);
        t.finish();
    }
    read_log(root, cfg.log);
    read_proxies(root, problems, cfg.proxies);
    root.finish();
    problems.throw_if_any();

    if (cfg.client_id.empty()) cfg.client_id = host_name();
    if (cfg.tls.server_name.empty()) cfg.tls.server_name = cfg.server_addr;
    return cfg;
}

server_config load_server_config(const std::string& path) {
    auto cfg = parse_server_config(read_file(path), path);
    cfg.file = absolute_path(path).string();
    const auto dir = absolute_path(path).parent_path();
    resolve_path(dir, cfg.data_dir);
    resolve_path(dir, cfg.tls.cert_file);
    resolve_path(dir, cfg.tls.key_file);
    return cfg;
}

client_config load_client_config(const std::string& path) {
    auto cfg = parse_client_config(read_file(path), path);
    cfg.file = absolute_path(path).string();
    resolve_path(absolute_path(path).parent_path(), cfg.tls.ca_file);
    return cfg;
}

}  // namespace burrow
