// Strict TOML reading shared by the config schemas (internal to common/config/:
// it includes toml++, which nothing outside the loaders needs to see).
//
// Every problem is collected with the position of the node that caused it and
// reported together at the end: a user fixing a config file should see the whole
// list in one run, not one per run. Every key a schema reads is remembered, so
// keys nobody asked for (a misspelt one, at any depth) are reported as unknown
// instead of being silently ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/config/problem.hpp"

namespace burrow::config_reader {

inline constexpr std::uint64_t uint32_max = std::numeric_limits<std::uint32_t>::max();

// "a string", "an integer", ... for "expected X, got Y" messages.
const char* type_name(toml::node_type type);

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

    void throw_if_any();

private:
    std::string file_;
    std::vector<config_problem> problems_;
};

// Reads the keys of one TOML table into config fields. Every key looked up is
// remembered, so finish() can report all the others as unknown.
//
// A reader over an absent table (table_ == nullptr) finds every key absent;
// `where` is then the enclosing table's position, used for missing-key problems.
// Strings have ${ENV} references expanded ("$${" is a literal "${").
class table_reader {
public:
    table_reader(problem_list& problems, const toml::table* table, std::string path,
                 toml::source_position where)
        : problems_(problems), table_(table), path_(std::move(path)), where_(where) {}

    // The dotted path of `key` in this table, e.g. "proxies[1].remote_port".
    std::string key_path(std::string_view key) const;

    const toml::node* get(std::string_view key);

    // Reports a required key that is not there, at the table that should hold it.
    void missing(std::string_view key, std::string message = "required key is missing");

    void problem(const toml::node& at, std::string_view key, std::string message);

    field read(std::string_view key, std::string& out);
    field read(std::string_view key, bool& out);

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

    // A size in bytes: an integer, or a string such as "64MiB" (KiB, MiB, GiB).
    field read_size(std::string_view key, std::uint64_t& out, std::uint64_t min,
                    std::uint64_t max);

    field read_port(std::string_view key, std::uint16_t& out, bool zero_allowed) {
        return read(key, out, zero_allowed ? 0 : 1, 65535);
    }

    // A sub-table; absent or of the wrong type gives a reader that finds nothing.
    table_reader table(std::string_view key);

    // Reports every key of the table that no read asked for.
    void finish();

    void type_problem(const toml::node& node, std::string_view key, std::string_view expected);

    // Shared with array elements, which have no table_reader of their own.
    static bool read_string(problem_list& problems, const toml::node& node, std::string key,
                            std::string& out);
    static bool read_uint(problem_list& problems, const toml::node& node, std::string key,
                          std::uint64_t min, std::uint64_t max, std::uint64_t& out);

private:
    problem_list& problems_;
    const toml::table* table_;
    std::string path_;
    toml::source_position where_;
    std::vector<std::string> known_;
};

// Reads one config document, `file` naming it in messages: a syntax error is
// the only problem reported; otherwise read_root() reads the top-level keys,
// the keys nobody read are reported as unknown, and every problem found is
// thrown as one config_error.
void read_document(std::string_view text, const std::string& file,
                   const std::function<void(table_reader& root, problem_list& problems)>& read_root);

// Calls `read` with a reader for each table of the array of tables `key`
// ([[proxies]], [[auth.clients]]) and its path ("proxies[2]").
void for_each_table(table_reader& root, problem_list& problems, std::string_view key,
                    const std::function<void(table_reader&, const toml::table&,
                                             const std::string& path)>& read);

// Where each name or port was first seen, to point a duplicate at the original.
template <class Key>
class first_seen {
public:
    explicit first_seen(std::string what) : what_(std::move(what)) {}
    // Reports `node` when `key` was claimed before (by `owner`, for the message).
    void claim(table_reader& r, const toml::node& node, std::string_view field, const Key& key,
               std::string owner) {
        auto [it, fresh] = seen_.emplace(key, std::move(owner));
        if (!fresh) r.problem(node, field, fmt::format(fmt::runtime(what_), key, it->second));
    }

private:
    std::string what_;  // a format of the key and the first owner
    std::map<Key, std::string> seen_;
};

// "line 12", where `node` starts: names the first of two duplicates.
std::string line_of(const toml::node& node);

// Reports an empty string given for a key that needs a value.
void require_non_empty(table_reader& r, std::string_view key, const std::string& value);
// An optional string that, when given, must not be empty.
void read_non_empty(table_reader& r, std::string_view key, std::string& out);
// A string that must be given and must not be empty.
void read_required(table_reader& r, std::string_view key, std::string& out);

// An array of strings; each element is checked by `problem_of` ("" = fine).
void read_string_array(table_reader& r, problem_list& problems, std::string_view key,
                       std::vector<std::string>& out,
                       const std::function<std::string(std::string_view)>& problem_of);

// The text of a config file. A config file is a small regular file (at most
// 1 MiB); anything else is refused before a byte is read. Throws config_error.
std::string read_config_file(const std::string& path);

// Relative paths in a config file mean "next to the config file", so a service
// started from any working directory finds the same files.
void resolve_path(const std::filesystem::path& dir, std::string& path);
std::filesystem::path absolute_path(const std::string& path);

}  // namespace burrow::config_reader
