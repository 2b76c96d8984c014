// The frame codec (common/stream/frame_codec.hpp): what a peer sends on a
// Work or Visit stream, decoded without protobuf.
//
// Input: the frame's bytes, then (read from the end, FuzzedDataProvider's
// way) the max_data limit's choice, the number of parts and where the frame
// is cut, as gRPC slices would cut it. Each part gets an allocation of its
// own, so a read past a part's end is a heap overflow for ASan.
//
// Properties:
// - decode() gives the same answer (values, payload, or the same error)
//   however the frame is cut, and its payload ranges lie inside the parts;
// - a data frame it accepts is a protobuf Frame with the same offset, ack,
//   fin and data (burrow.proto is the wire format; the generated parser is
//   the reference);
// - what decode_resume_head() reads from a frame is protobuf's reading of it:
//   the head (a oneof: the last member wins) and, with one head field (protobuf
//   merges a repeated member), its point; it reads back what
//   encode_resume_head() writes;
// - encode_data_header() + payload decodes to what was encoded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/unknown_field_set.h>

#include "burrow.pb.h"
#include "common/stream/frame_codec.hpp"
#include "fuzz_check.hpp"

namespace burrow::frame_codec {
namespace {

using u8 = std::uint8_t;

std::string joined(const std::vector<bytes>& ranges) {
    std::string out;
    for (auto r : ranges) out.append(reinterpret_cast<const char*>(r.data()), r.size());
    return out;
}

bool inside(bytes range, const std::vector<std::vector<u8>>& parts) {
    return std::any_of(parts.begin(), parts.end(), [&](const std::vector<u8>& p) {
        return range.data() >= p.data() && range.data() + range.size() <= p.data() + p.size();
    });
}

// protobuf's own wire parser: the top-level fields, or false when it refuses.
bool wire_fields(const std::string& whole, google::protobuf::UnknownFieldSet& out) {
    return out.ParseFromArray(whole.data(), static_cast<int>(whole.size()));
}

void check_against_protobuf(const std::string& whole, const decoded& d) {
    if (d.has_head || d.has_error) return;  // those go to protobuf anyway
    v1::Frame f;
    FUZZ_CHECK(f.ParseFromString(whole));
    FUZZ_CHECK(f.head_case() == v1::Frame::HEAD_NOT_SET);
    FUZZ_CHECK(f.offset() == d.offset);
    FUZZ_CHECK(f.ack() == d.ack);
    FUZZ_CHECK(f.fin() == d.fin);
    FUZZ_CHECK(f.data().size() == d.data_size);
    FUZZ_CHECK(f.data() == joined(d.data));
}

void check_resume_head(const std::string& whole) {
    const auto h = decode_resume_head(whole);
    // Refusing is allowed (it is stricter than protobuf: an unknown fixed32
    // or fixed64 field inside a Resume, say); what it reads must be right.
    if (!h) return;
    google::protobuf::UnknownFieldSet fields;
    FUZZ_CHECK(wire_fields(whole, fields));
    v1::Frame f;
    if (!f.ParseFromString(whole)) return;  // e.g. a run_id that is not UTF-8
    // The head is a oneof: the last member in the frame is the one it holds.
    FUZZ_CHECK(h->which == f_resume ? f.has_resume() : f.has_resumed());
    int heads = 0;
    for (int i = 0; i < fields.field_count(); ++i)
        if (is_head_field(static_cast<std::uint32_t>(fields.field(i).number()))) ++heads;
    if (heads != 1) return;  // protobuf may merge a repeated member; the codec keeps the last
    const auto point = h->which == f_resume ? f.resume().received() : f.resumed().received();
    const bool fin = h->which == f_resume ? f.resume().received_fin() : f.resumed().received_fin();
    FUZZ_CHECK(h->point.received == point);
    FUZZ_CHECK(h->point.fin == fin);
}

void round_trips(FuzzedDataProvider& in) {
    const auto offset = in.ConsumeIntegral<std::uint64_t>();
    const auto ack = in.ConsumeIntegral<std::uint64_t>();
    const bool fin = in.ConsumeBool();
    const auto payload = in.ConsumeBytes<u8>(in.ConsumeIntegralInRange<std::size_t>(0, 300));
    const auto h = encode_data_header(offset, ack, fin, payload.size());
    std::vector<u8> wire(h.buf.begin(), h.buf.begin() + static_cast<std::ptrdiff_t>(h.size));
    wire.insert(wire.end(), payload.begin(), payload.end());
    decoded d;
    FUZZ_CHECK(decode({bytes(wire)}, d).empty());
    FUZZ_CHECK(!d.has_head && !d.has_error);
    FUZZ_CHECK(d.offset == offset && d.ack == ack && d.fin == fin);
    FUZZ_CHECK(d.data_size == payload.size());
    FUZZ_CHECK(joined(d.data) == std::string(payload.begin(), payload.end()));

    const stream::resume_point p{in.ConsumeIntegral<std::uint64_t>(), in.ConsumeBool()};
    const auto which = in.ConsumeBool() ? f_resume : f_resumed;
    const auto back = decode_resume_head(encode_resume_head(which, p));
    FUZZ_CHECK(back.has_value() && back->which == which);
    FUZZ_CHECK(back->point.received == p.received && back->point.fin == p.fin);
}

}  // namespace
}  // namespace burrow::frame_codec

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::frame_codec;
    FuzzedDataProvider in(data, size);
    // Small limits too, so that the limit's edges are reached.
    static constexpr std::size_t limits[] = {1u << 20, 0, 1, 16, 100, 4096};
    const std::size_t max_data = limits[in.ConsumeIntegralInRange<std::size_t>(0, 5)];
    const auto cuts = in.ConsumeIntegralInRange<std::size_t>(0, 8);
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < cuts; ++i) at.push_back(in.ConsumeIntegral<std::uint16_t>());
    const bool also_round_trip = in.ConsumeBool();
    // Then the first half of what is left drives the round trips.
    std::vector<std::uint8_t> half;
    if (also_round_trip) half = in.ConsumeBytes<std::uint8_t>(in.remaining_bytes() / 2);
    const std::string whole = in.ConsumeRemainingBytesAsString();

    // The parts, each in an allocation of its own (empty ones included).
    for (auto& a : at) a = whole.empty() ? 0 : a % (whole.size() + 1);
    std::sort(at.begin(), at.end());
    std::vector<std::vector<std::uint8_t>> parts;
    std::size_t from = 0;
    for (auto a : at) {
        parts.emplace_back(whole.begin() + static_cast<std::ptrdiff_t>(from),
                           whole.begin() + static_cast<std::ptrdiff_t>(a));
        from = a;
    }
    parts.emplace_back(whole.begin() + static_cast<std::ptrdiff_t>(from), whole.end());
    std::vector<bytes> spans;
    for (const auto& p : parts) spans.emplace_back(p.data(), p.size());

    decoded split;
    const auto error = decode(spans, split, max_data);

    // The same frame in one piece: the same answer.
    const std::vector<std::uint8_t> one(whole.begin(), whole.end());
    decoded contiguous;
    FUZZ_CHECK(decode({bytes(one)}, contiguous, max_data) == error);
    if (error.empty()) {
        FUZZ_CHECK(split.has_head == contiguous.has_head && split.has_error == contiguous.has_error);
        FUZZ_CHECK(split.offset == contiguous.offset && split.ack == contiguous.ack);
        FUZZ_CHECK(split.fin == contiguous.fin && split.data_size == contiguous.data_size);
        FUZZ_CHECK(split.data_size <= max_data);
        std::size_t total = 0;
        for (auto r : split.data) {
            FUZZ_CHECK(inside(r, parts));
            total += r.size();
        }
        FUZZ_CHECK(total == split.data_size);
        FUZZ_CHECK(joined(split.data) == joined(contiguous.data));
        check_against_protobuf(whole, split);
    }
    check_resume_head(whole);
    if (also_round_trip) {
        FuzzedDataProvider rest(half.data(), half.size());
        round_trips(rest);
    }
    return 0;
}
