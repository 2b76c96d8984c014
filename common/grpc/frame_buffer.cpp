#include "common/grpc/frame_buffer.hpp"

#include <grpc/slice.h>

#include "common/stream/control_frame.hpp"
#include "common/stream/frame_codec.hpp"

namespace burrow::grpc_frames {

namespace {
// The slices of a message, and the decoder's state, reused per thread: no
// allocation per frame.
struct scratch {
    std::vector<grpc::Slice> slices;
    std::vector<frame_codec::bytes> parts;
    frame_codec::decoded decoded;
};
scratch& local_scratch() {
    thread_local scratch s;
    return s;
}

// Makes `target` hold these slices (ByteBuffer has no move assignment, and
// its copy assignment allocates).
void assign(grpc::ByteBuffer& target, const grpc::Slice* slices, std::size_t n) {
    grpc::ByteBuffer fresh(slices, n);
    target.Swap(&fresh);
}

void decode_into(grpc::ByteBuffer& in, stream::frame& out, scratch& s) {
    out.clear();
    s.slices.clear();
    if (grpc::Slice single; in.TrySingleSlice(&single).ok())
        s.slices.push_back(std::move(single));
    else
        in.Dump(&s.slices);
    in.Clear();
    s.parts.clear();
    for (const auto& sl : s.slices) s.parts.emplace_back(sl.begin(), sl.size());

    auto& d = s.decoded;
    d.clear();
    if (auto err = frame_codec::decode(s.parts, d, stream::max_frame_data); !err.empty())
        return stream::set_malformed(out, std::move(err));

    if (d.has_head || d.has_error) {
        // Rare and small: let protobuf parse the whole frame.
        std::string raw;
        for (const auto& p : s.parts) raw.append(reinterpret_cast<const char*>(p.data()), p.size());
        return stream::parse_control(std::move(raw), d.has_head, out);
    }
    out.offset = d.offset;
    out.ack = d.ack;
    out.fin = d.fin;
    out.size = d.data_size;
    // Each payload range lies inside one slice: share that slice's bytes.
    std::size_t part = 0;
    for (const auto& range : d.data) {
        while (range.data() < s.parts[part].data() ||
               range.data() >= s.parts[part].data() + s.parts[part].size())
            ++part;
        const auto begin = static_cast<std::size_t>(range.data() - s.parts[part].data());
        const auto whole = stream::chunk::adopt(s.slices[part].c_slice());
        out.data.push_back(whole.sub(begin, begin + range.size()));
    }
}
}  // namespace


void decode(grpc::ByteBuffer& in, stream::frame& out) {
    auto& s = local_scratch();
    decode_into(in, out, s);
    s.slices.clear();  // what `out` needs, it holds itself
}

void encode(const stream::frame& f, grpc::ByteBuffer& out) {
    using kind = stream::frame::kind;
    if (f.type != kind::data) {
        const grpc::Slice slice(stream::serialize_control(f));
        return assign(out, &slice, 1);
    }
    const auto head = frame_codec::encode_data_header(f.offset, f.ack, f.fin, f.size);
    boost::container::small_vector<grpc::Slice, 3> slices;
    slices.emplace_back(head.buf.data(), head.size);
    for (const auto& c : f.data) slices.emplace_back(c.slice(), grpc::Slice::ADD_REF);
    assign(out, slices.data(), slices.size());
}

}  // namespace burrow::grpc_frames
