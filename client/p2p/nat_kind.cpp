#include "client/p2p/nat_kind.hpp"

namespace burrow {

nat_verdict classify(const nat_observation& seen) {
    nat_verdict v;
    v.port_filtered = !seen.other_port_answered;
    if (!seen.mapped) {
        v.kind = nat_kind::blocked;
        return v;
    }
    if (*seen.mapped == seen.local) {
        v.mapping = nat_mapping::none;
        v.kind = v.port_filtered ? nat_kind::port_restricted : nat_kind::open;
        return v;
    }
    if (!seen.mapped_other) return v;  // unknown
    if (*seen.mapped_other != *seen.mapped) {
        v.mapping = nat_mapping::endpoint_dependent;
        v.kind = nat_kind::symmetric;
        return v;
    }
    v.mapping = nat_mapping::endpoint_independent;
    v.kind = v.port_filtered ? nat_kind::port_restricted : nat_kind::cone;
    return v;
}

std::string_view to_string(nat_kind k) {
    switch (k) {
        case nat_kind::open: return "open";
        case nat_kind::cone: return "cone";
        case nat_kind::port_restricted: return "port_restricted";
        case nat_kind::symmetric: return "symmetric";
        case nat_kind::blocked: return "blocked";
        case nat_kind::unknown: break;
    }
    return "unknown";
}

std::string_view to_string(nat_mapping m) {
    switch (m) {
        case nat_mapping::none: return "none";
        case nat_mapping::endpoint_independent: return "endpoint-independent";
        case nat_mapping::endpoint_dependent: return "endpoint-dependent";
        case nat_mapping::unknown: break;
    }
    return "unknown";
}

std::string_view describe(nat_kind k) {
    switch (k) {
        case nat_kind::open: return "no NAT: a public address, nothing filtered";
        case nat_kind::cone: return "full or restricted cone (NAT1/NAT2)";
        case nat_kind::port_restricted: return "port-restricted cone (NAT3)";
        case nat_kind::symmetric: return "symmetric (NAT4)";
        case nat_kind::blocked: return "UDP blocked: the rendezvous did not answer";
        case nat_kind::unknown: break;
    }
    return "unknown: the rendezvous' second port did not answer";
}

std::string_view advice(nat_kind k) {
    switch (k) {
        case nat_kind::open:
        case nat_kind::cone:
            return "direct paths work with every NAT on the other side, symmetric ones included.";
        case nat_kind::port_restricted:
            return "direct paths work with cone NATs, and with a symmetric NAT on the other side "
                   "by probing many of its ports; two symmetric NATs are relayed.";
        case nat_kind::symmetric:
            return "direct paths work with a cone NAT (or none) on the other side, with a "
                   "port-restricted one by probing from many ports; with another symmetric NAT "
                   "traffic is relayed.";
        case nat_kind::blocked:
            return "no direct path can be made from here: traffic is relayed through the server.";
        case nat_kind::unknown: break;
    }
    return "a direct path is tried; if it fails, traffic is relayed.";
}

}  // namespace burrow
