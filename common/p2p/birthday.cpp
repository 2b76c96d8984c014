#include "common/p2p/birthday.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace burrow::p2p::birthday {

role choose(bool self_varies, bool peer_varies) {
    if (self_varies == peer_varies) return role::none;
    return self_varies ? role::hard : role::easy;
}

std::vector<std::uint16_t> ports_to_try(std::size_t count, std::uint64_t seed) {
    std::vector<std::uint16_t> all(port_range);
    std::iota(all.begin(), all.end(), lowest_port);
    count = std::min(count, all.size());
    // A partial Fisher-Yates shuffle: the first `count` are a uniform sample.
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < count; ++i) {
        std::uniform_int_distribution<std::size_t> pick(i, all.size() - 1);
        std::swap(all[i], all[pick(rng)]);
    }
    all.resize(count);
    return all;
}

double odds(int hard_sockets, int easy_ports) {
    if (hard_sockets <= 0 || easy_ports <= 0) return 0;
    const double miss = 1.0 - std::min(easy_ports, port_range) / static_cast<double>(port_range);
    return 1.0 - std::pow(miss, hard_sockets);
}

}  // namespace burrow::p2p::birthday
