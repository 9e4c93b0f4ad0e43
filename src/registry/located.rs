//! Where a request's series is, in a few bytes that stay valid as long as the layer: a
//! request in flight names its series by them rather than holding a reference to it.

/// Where a request's series is: which side (HTTP or gRPC), which recorder's table, which
/// series in it. Eight bytes, since every request carries one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Located {
    /// The table's index, with [`Located::GRPC`] set on the gRPC side. Arena indices stay
    /// below 2^31, so the bit is free.
    side_table: u32,
    pub(crate) series: u32,
}

impl Located {
    const GRPC: u32 = 1 << 31;
    /// The table index of a request's own table (see [`Recorders::scoped`](crate::registry::meter::Recorders::scoped)): beyond any
    /// arena index, so no kept table has it.
    pub(crate) const SCOPED: u32 = 1 << 30;

    #[inline]
    pub(crate) fn new(grpc: bool, table: u32, series: u32) -> Self {
        let side = if grpc { Self::GRPC } else { 0 };
        Self {
            side_table: side | table,
            series,
        }
    }

    /// Whether the series is on the gRPC side.
    #[inline]
    pub(crate) fn grpc(self) -> bool {
        self.side_table & Self::GRPC != 0
    }

    /// The index of the series' table.
    #[inline]
    pub(crate) fn table(self) -> u32 {
        self.side_table & !Self::GRPC
    }
}
