#include "common/config/reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/host_names.hpp"

namespace burrow::config_reader {

namespace {

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

}  // namespace

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

void problem_list::throw_if_any() {
    if (problems_.empty()) return;
    std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    throw config_error(std::move(problems_));
}

std::string table_reader::key_path(std::string_view key) const {
    std::string name = is_bare_key(key) ? std::string(key) : fmt::format("\"{}\"", key);
    return path_.empty() ? name : fmt::format("{}.{}", path_, name);
}

const toml::node* table_reader::get(std::string_view key) {
    known_.emplace_back(key);
    return table_ != nullptr ? table_->get(key) : nullptr;
}

void table_reader::missing(std::string_view key, std::string message) {
    problems_.add(where_, key_path(key), std::move(message));
}

void table_reader::problem(const toml::node& at, std::string_view key, std::string message) {
    problems_.add(at.source().begin, key_path(key), std::move(message));
}

field table_reader::read(std::string_view key, std::string& out) {
    const auto* node = get(key);
    if (node == nullptr) return field::absent;
    return read_string(problems_, *node, key_path(key), out) ? field::ok : field::invalid;
}

field table_reader::read(std::string_view key, bool& out) {
    const auto* node = get(key);
    if (node == nullptr) return field::absent;
    if (const auto* value = node->as_boolean()) {
        out = value->get();
        return field::ok;
    }
    type_problem(*node, key, "a boolean (true or false)");
    return field::invalid;
}

field table_reader::read_size(std::string_view key, std::uint64_t& out, std::uint64_t min,
                              std::uint64_t max) {
    const auto* node = get(key);
    if (node == nullptr) return field::absent;
    if (node->is_integer()) {
        std::uint64_t v = 0;
        if (!read_uint(problems_, *node, key_path(key), min, max, v)) return field::invalid;
        out = v;
        return field::ok;
    }
    const auto* text = node->as_string();
    if (text == nullptr) {
        type_problem(*node, key, R"(a size (bytes, or a string such as "64MiB"))");
        return field::invalid;
    }
    const std::string& s = text->get();
    std::size_t digits = 0;
    while (digits < s.size() && digits < 12 && s[digits] >= '0' && s[digits] <= '9') ++digits;
    const std::string unit = s.substr(digits);
    const std::uint64_t scale = unit == "KiB" ? 1ull << 10
                                : unit == "MiB" ? 1ull << 20
                                : unit == "GiB" ? 1ull << 30
                                : unit.empty() || unit == "B" ? 1
                                                              : 0;
    if (digits == 0 || digits >= 12 || scale == 0) {
        problem(*node, key,
                fmt::format(R"(expected a size such as "64MiB" (a number, then B, KiB, MiB or )"
                            R"(GiB), got "{}")",
                            s.substr(0, 40)));
        return field::invalid;
    }
    const std::uint64_t number = std::stoull(s.substr(0, digits));
    if (number > max / scale) {  // checked before multiplying: 11 digits of GiB would wrap
        problem(*node, key, fmt::format("must be between {} and {} bytes, got {}", min, max, s));
        return field::invalid;
    }
    const std::uint64_t v = number * scale;
    if (v < min || v > max) {
        problem(*node, key,
                fmt::format("must be between {} and {} bytes, got {} ({} bytes)", min, max, s, v));
        return field::invalid;
    }
    out = v;
    return field::ok;
}

table_reader table_reader::table(std::string_view key) {
    const auto* node = get(key);
    const toml::table* sub = nullptr;
    if (node != nullptr) {
        sub = node->as_table();
        if (sub == nullptr) type_problem(*node, key, "a table");
    }
    return {problems_, sub, key_path(key), sub != nullptr ? sub->source().begin : where_};
}

void table_reader::finish() {
    if (table_ == nullptr) return;
    for (auto&& [key, node] : *table_) {
        if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
        problems_.add(key.source().begin, key_path(printable(key.str())), "unknown key");
    }
}

void table_reader::type_problem(const toml::node& node, std::string_view key, std::string_view expected) {
    problem(node, key, fmt::format("expected {}, got {}", expected, type_name(node.type())));
}

bool table_reader::read_string(problem_list& problems, const toml::node& node, std::string key,
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

bool table_reader::read_uint(problem_list& problems, const toml::node& node, std::string key,
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

void read_document(std::string_view text, const std::string& file,
                   const std::function<void(table_reader& root, problem_list& problems)>& read_root) {
    problem_list problems(file);
    std::optional<toml::table> doc;
    try {
        doc = toml::parse(text, std::string_view(problems.file()));
    } catch (const toml::parse_error& e) {
        problems.add(e.source().begin, "", std::string(e.description()));
    }
    problems.throw_if_any();

    table_reader root(problems, &*doc, "", doc->source().begin);
    read_root(root, problems);
    root.finish();
    problems.throw_if_any();
}

void for_each_table(table_reader& root, problem_list& problems, std::string_view key,
                    const std::function<void(table_reader&, const toml::table&,
                                             const std::string& path)>& read) {
    const auto* node = root.get(key);
    if (node == nullptr) return;
    const auto* array = node->as_array();
    if (array == nullptr) {
        root.type_problem(*node, key, fmt::format("an array of tables ([[{}]])", root.key_path(key)));
        return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& element = *array->get(i);
        const auto path = fmt::format("{}[{}]", root.key_path(key), i);
        const auto* table = element.as_table();
        if (table == nullptr) {
            problems.add(element.source().begin, path,
                         fmt::format("expected a table, got {}", type_name(element.type())));
            continue;
        }
        table_reader r(problems, table, path, table->source().begin);
        read(r, *table, path);
    }
}

std::string line_of(const toml::node& node) {
    return fmt::format("line {}", node.source().begin.line);
}

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

// A FIFO would block for ever and /dev/zero would never end, hence the checks
// before reading, and the cap again while reading (the file may grow meanwhile).
std::string read_config_file(const std::string& path) {
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

void resolve_path(const std::filesystem::path& dir, std::string& path) {
    if (path.empty() || std::filesystem::path(path).is_absolute()) return;
    path = (dir / path).lexically_normal().string();
}

std::filesystem::path absolute_path(const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal();
}

}  // namespace burrow::config_reader
