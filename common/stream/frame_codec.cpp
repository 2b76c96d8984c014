#include "common/stream/frame_codec.hpp"

#include <fmt/format.h>

namespace burrow::frame_codec {
namespace {

enum wire : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

std::size_t put_varint(std::uint8_t* p, std::uint64_t v) {
    std::size_t n = 0;
    while (v >= 0x80) {
        p[n++] = static_cast<std::uint8_t>(v | 0x80);
        v >>= 7;
    }
    p[n++] = static_cast<std::uint8_t>(v);
    return n;
}

// Reads bytes sequentially across several spans.
class reader {
public:
    explicit reader(const std::vector<bytes>& parts) : parts_(parts) { skip_empty(); }

    bool at_end() const { return part_ == parts_.size(); }

    bool byte(std::uint8_t& b) {
        if (at_end()) return false;
        b = parts_[part_][pos_];
        advance(1);
        return true;
    }

    bool read_varint(std::uint64_t& v) { return varint_of(v, 10); }

    // A field key: protobuf reads at most 5 bytes of it (a 32-bit tag), so a
    // longer one, zero-padded or not, is refused as protobuf refuses it.
    bool read_key(std::uint64_t& key) { return varint_of(key, 5); }

    // Takes `n` bytes as ranges of the underlying spans (no copy).
    bool take(std::size_t n, std::vector<bytes>* out) {
        while (n > 0) {
            if (at_end()) return false;
            const auto& p = parts_[part_];
            const std::size_t k = std::min(n, p.size() - pos_);
            if (out) out->push_back(p.subspan(pos_, k));
            advance(k);
            n -= k;
        }
        return true;
    }

private:
    bool varint_of(std::uint64_t& v, int max_bytes) {
        v = 0;
        for (int i = 0; i < max_bytes; ++i) {
            std::uint8_t b;
            if (!byte(b)) return false;
            v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
            if (!(b & 0x80)) return true;
        }
        return false;  // longer than max_bytes
    }

    void advance(std::size_t k) {
        pos_ += k;
        if (pos_ == parts_[part_].size()) {
            ++part_;
            pos_ = 0;
            skip_empty();
        }
    }
    void skip_empty() {
        while (part_ < parts_.size() && parts_[part_].empty()) ++part_;
    }

    const std::vector<bytes>& parts_;
    std::size_t part_ = 0;
    std::size_t pos_ = 0;
};

}  // namespace

header encode_data_header(std::uint64_t offset, std::uint64_t ack, bool fin,
                          std::size_t data_size) {
    header h;
    auto* p = h.buf.data();
    std::size_t n = 0;
    // Zero values are omitted, as protobuf itself does.
    if (offset) {
        p[n++] = (f_offset << 3) | varint;
        n += put_varint(p + n, offset);
    }
    if (ack) {
        p[n++] = (f_ack << 3) | varint;
        n += put_varint(p + n, ack);
    }
    if (fin) {
        p[n++] = (f_fin << 3) | varint;
        p[n++] = 1;
    }
    if (data_size) {
        p[n++] = (f_data << 3) | length_delimited;
        n += put_varint(p + n, data_size);
    }
    h.size = n;
    return h;
}

namespace {
// The field number of a key, as protobuf reads it: 0 and numbers beyond
// 2^29 - 1 (a key longer than 32 bits among them) are no field.
std::optional<std::uint32_t> field_number(std::uint64_t key) {
    constexpr std::uint64_t max_field = (1u << 29) - 1;
    const auto number = key >> 3;
    if (number == 0 || number > max_field) return std::nullopt;
    return static_cast<std::uint32_t>(number);
}
}  // namespace

std::string decode(const std::vector<bytes>& parts, decoded& out, std::size_t max_data) {
    out.clear();
    reader r(parts);
    bool seen_data = false;
    while (!r.at_end()) {
        std::uint64_t key;
        if (!r.read_key(key)) return "truncated or overlong field key";
        const auto known_number = field_number(key);
        if (!known_number) return "bad field number";
        const auto number = *known_number;
        const auto type = static_cast<std::uint32_t>(key & 7);

        const bool known = number >= f_hello && number <= f_direct;
        const std::uint32_t expected =
            number == f_offset || number == f_ack || number == f_fin ? varint : length_delimited;
        if (known && type != expected)
            return fmt::format("field {} has wire type {}, expected {}", number, type, expected);

        switch (type) {
            case varint: {
                std::uint64_t v;
                if (!r.read_varint(v)) return fmt::format("truncated varint in field {}", number);
                if (number == f_offset) out.offset = v;
                if (number == f_ack) out.ack = v;
                if (number == f_fin) out.fin = v != 0;
                break;
            }
            case length_delimited: {
                std::uint64_t len;
                if (!r.read_varint(len)) return fmt::format("truncated length in field {}", number);
                if (number == f_data) {
                    if (seen_data) return "repeated data field";
                    if (len > max_data)
                        return fmt::format("frame of {} bytes exceeds the {} byte limit", len,
                                           max_data);
                    seen_data = true;
                    out.data_size = static_cast<std::size_t>(len);
                    if (!r.take(out.data_size, &out.data)) return "truncated data";
                } else {
                    if (is_head_field(number)) out.has_head = true;
                    if (number == f_error) out.has_error = true;
                    if (len > max_data || !r.take(static_cast<std::size_t>(len), nullptr))
                        return fmt::format("truncated field {}", number);
                }
                break;
            }
            case fixed64:
                if (!r.take(8, nullptr)) return fmt::format("truncated field {}", number);
                break;
            case fixed32:
                if (!r.take(4, nullptr)) return fmt::format("truncated field {}", number);
                break;
            default: return fmt::format("unsupported wire type {} in field {}", type, number);
        }
    }
    return {};
}

namespace {
// Field numbers of Resume's and Resumed's point.
constexpr std::uint32_t resume_received = 4, resume_fin = 5;
constexpr std::uint32_t resumed_received = 1, resumed_fin = 2;
}  // namespace

std::string encode_resume_head(field which, stream::resume_point p) {
    const bool resume = which == f_resume;
    std::uint8_t inner[16];
    std::size_t n = 0;
    if (p.received) {
        inner[n++] = static_cast<std::uint8_t>((resume ? resume_received : resumed_received) << 3);
        n += put_varint(inner + n, p.received);
    }
    if (p.fin) {
        inner[n++] = static_cast<std::uint8_t>((resume ? resume_fin : resumed_fin) << 3);
        inner[n++] = 1;
    }
    std::string out;
    out += static_cast<char>((which << 3) | length_delimited);
    out += static_cast<char>(n);  // < 128
    out.append(reinterpret_cast<const char*>(inner), n);
    return out;
}

std::optional<resume_head> decode_resume_head(std::string_view serialized) {
    const std::vector<bytes> whole{
        bytes(reinterpret_cast<const std::uint8_t*>(serialized.data()), serialized.size())};
    reader r(whole);
    std::optional<resume_head> found;
    while (!r.at_end()) {
        std::uint64_t key, v;
        if (!r.read_key(key)) return {};
        const auto known_number = field_number(key);
        if (!known_number) return {};
        const auto number = *known_number;
        // The head is a oneof: protobuf keeps the last member, or merges a
        // repeated one. A second head member, or one that is no message, is
        // refused rather than read differently.
        if (is_head_field(number) && (found || (key & 7) != length_delimited)) return {};
        switch (key & 7) {
            case varint:
                if (!r.read_varint(v)) return {};
                break;
            case length_delimited: {
                std::vector<bytes> body;
                if (!r.read_varint(v) || v > serialized.size() ||
                    !r.take(static_cast<std::size_t>(v), &body))
                    return {};
                if (number != f_resume && number != f_resumed) break;
                const bool resume = number == f_resume;
                resume_head h{static_cast<field>(number), {}};
                reader in(body);
                while (!in.at_end()) {
                    std::uint64_t k, x;
                    if (!in.read_key(k) || !field_number(k)) return {};
                    const auto n = static_cast<std::uint32_t>(k >> 3);
                    if ((k & 7) == varint) {
                        if (!in.read_varint(x)) return {};
                        if (n == (resume ? resume_received : resumed_received)) h.point.received = x;
                        if (n == (resume ? resume_fin : resumed_fin)) h.point.fin = x != 0;
                    } else if ((k & 7) == length_delimited) {
                        if (!in.read_varint(x) || !in.take(static_cast<std::size_t>(x), nullptr))
                            return {};
                    } else {
                        return {};  // Resume and Resumed have no other wire types
                    }
                }
                found = h;
                break;
            }
            case fixed64:
                if (!r.take(8, nullptr)) return {};
                break;
            case fixed32:
                if (!r.take(4, nullptr)) return {};
                break;
            default: return {};
        }
    }
    return found;
}

}  // namespace burrow::frame_codec
