// What config loading reports (DESIGN.md §4): every problem found, each as
// "file:line:column: key: message". load_*() throws config_error carrying all of
// them, so `verify` can print the whole list and `run` refuses to start before
// binding anything.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace burrow {

// One problem in a config file, with the position of the offending node.
struct config_problem {
    std::string file;
    std::uint32_t line = 0;    // 1-based; 0 when the problem has no position
    std::uint32_t column = 0;  // 1-based
    std::string key;           // dotted path, e.g. "proxies[1].remote_port"
    std::string message;

    // "file:line:column: key: message"
    std::string to_string() const;
};

class config_error : public std::runtime_error {
public:
    explicit config_error(std::vector<config_problem> problems);
    const std::vector<config_problem>& problems() const noexcept { return problems_; }

private:
    std::vector<config_problem> problems_;
};

// Runs `load`, a running program's reading of `file` for a reload. Empty when
// it loaded; otherwise the lines to log (and answer with): "reload of FILE
// refused; running on with the config as it was:", then each problem as
// `verify` prints it, indented.
std::vector<std::string> reload_refusal(const std::string& file, const std::function<void()>& load);

}  // namespace burrow
