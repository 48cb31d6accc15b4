//! The X12 code lists an acknowledgment is written in, one enum per data element, so a verdict cannot carry
//! a code from the wrong list (AK5 `4` and AK9 `4` mean different things).
//!
//! Only codes that keep their meaning across 004010 and 005010 are listed, and none of the security codes
//! (S3S/S4S, authentication, encryption), which this runtime never checks. [`ElementError`] holds two codes
//! that 004010 lacks (`12`, `13`); nothing in this crate produces them.

/// Declares a code list: the enum, `code()`, `from_code()` and `Display` (the code as X12 writes it).
macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $code:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
        }

        impl $name {
            /// The code as X12 writes it.
            pub fn code(self) -> &'static str {
                match self {
                    $( Self::$variant => $code, )*
                }
            }

            /// The code list entry for a code as X12 writes it (surrounding spaces ignored), or None when the
            /// code is not on this list.
            pub fn from_code(code: &str) -> Option<Self> {
                match code.trim() {
                    $( $code => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_list! {
    /// AK304 / IK304 (data elements 720 / 620): why a segment is in error.
    SegmentError {
        /// `1`: the segment tag is not one X12 defines (a garbled or unreadable tag).
        UnrecognizedSegmentId = "1",
        /// `2`: a known segment where it is not expected.
        UnexpectedSegment = "2",
        /// `3`: a mandatory segment is missing; AK302 is where it was expected.
        MandatorySegmentMissing = "3",
        /// `4`: a loop occurs more often than allowed.
        LoopOverMaximum = "4",
        /// `5`: a segment occurs more often than allowed.
        SegmentOverMaximumUse = "5",
        /// `6`: a segment the transaction set does not define.
        NotInTransactionSet = "6",
        /// `7`: a segment out of sequence.
        OutOfSequence = "7",
        /// `8`: the segment has data element errors (the AK4s that follow).
        DataElementErrors = "8",
    }
}

code_list! {
    /// AK403 / IK403 (data elements 723 / 621): why a data element is in error.
    ElementError {
        /// `1`: a mandatory data element is missing.
        MandatoryMissing = "1",
        /// `2`: a conditionally required data element is missing.
        ConditionalMissing = "2",
        /// `3`: too many data elements.
        TooManyElements = "3",
        /// `4`: the data element is too short.
        TooShort = "4",
        /// `5`: the data element is too long.
        TooLong = "5",
        /// `6`: an invalid character in the data element (a control character, a letter in a number).
        InvalidCharacter = "6",
        /// `7`: an invalid code value; also this crate's answer to a plugin that refuses a value without
        /// saying why (see [`crate::ack::Received::refusal`]).
        InvalidCodeValue = "7",
        /// `8`: an invalid date.
        InvalidDate = "8",
        /// `9`: an invalid time.
        InvalidTime = "9",
        /// `10`: an exclusion condition is violated.
        ExclusionViolated = "10",
        /// `12`: too many repetitions (not in 004010).
        TooManyRepetitions = "12",
        /// `13`: too many components (not in 004010).
        TooManyComponents = "13",
    }
}

code_list! {
    /// AK501 / IK501 (data element 717): the verdict on one transaction set.
    SetStatus {
        /// `A`: accepted.
        Accepted = "A",
        /// `E`: accepted, but errors were noted.
        AcceptedWithErrors = "E",
        /// `R`: rejected.
        Rejected = "R",
    }
}

code_list! {
    /// AK502–AK506 / IK502–IK506 (data elements 718 / 618): why a transaction set is in error.
    SetError {
        /// `1`: the transaction set is not supported (a plugin refused the set's type).
        NotSupported = "1",
        /// `2`: the SE trailer is missing.
        TrailerMissing = "2",
        /// `3`: ST02 and SE02 differ.
        ControlNumberMismatch = "3",
        /// `4`: SE01 does not match the number of segments.
        SegmentCount = "4",
        /// `5`: one or more segments in error (the AK3s of the set).
        SegmentsInError = "5",
        /// `6`: ST01 is missing or invalid.
        InvalidIdentifier = "6",
        /// `7`: ST02 is missing or invalid.
        InvalidControlNumber = "7",
        /// `23`: ST02 is not unique within the functional group.
        ControlNumberNotUnique = "23",
    }
}

code_list! {
    /// AK901 (data element 715): the verdict on one functional group.
    GroupStatus {
        /// `A`: accepted.
        Accepted = "A",
        /// `E`: accepted, but errors were noted.
        AcceptedWithErrors = "E",
        /// `P`: partially accepted; at least one transaction set was rejected.
        PartiallyAccepted = "P",
        /// `R`: rejected.
        Rejected = "R",
    }
}

code_list! {
    /// AK905–AK909 (data element 716): why a functional group is in error.
    GroupError {
        /// `1`: the functional group (GS01) is not supported.
        NotSupported = "1",
        /// `2`: the functional group version (GS08) is not supported.
        VersionNotSupported = "2",
        /// `3`: the GE trailer is missing.
        TrailerMissing = "3",
        /// `4`: GS06 and GE02 differ.
        ControlNumberMismatch = "4",
        /// `5`: GE01 does not match the number of transaction sets.
        TransactionCount = "5",
        /// `6`: GS06 violates the syntax.
        ControlNumberSyntax = "6",
    }
}

code_list! {
    /// TA105 (data element I18): the interchange note code of a TA1, the whole list.
    InterchangeNote {
        /// `000`: no error.
        NoError = "000",
        /// `001`: ISA13 and IEA02 differ; the acknowledgment uses ISA13.
        ControlNumberMismatch = "001",
        /// `002`: the standard in ISA11 (before 00402) is not supported.
        StandardNotSupported = "002",
        /// `003`: this version of the controls (ISA12) is not supported.
        VersionNotSupported = "003",
        /// `004`: the segment terminator is invalid.
        InvalidSegmentTerminator = "004",
        /// `005`: invalid interchange id qualifier for the sender (ISA05).
        InvalidSenderQualifier = "005",
        /// `006`: invalid interchange sender id (ISA06).
        InvalidSenderId = "006",
        /// `007`: invalid interchange id qualifier for the receiver (ISA07).
        InvalidReceiverQualifier = "007",
        /// `008`: invalid interchange receiver id (ISA08).
        InvalidReceiverId = "008",
        /// `009`: unknown interchange receiver id.
        UnknownReceiverId = "009",
        /// `010`: invalid authorization information qualifier (ISA01).
        InvalidAuthorizationQualifier = "010",
        /// `011`: invalid authorization information (ISA02).
        InvalidAuthorization = "011",
        /// `012`: invalid security information qualifier (ISA03).
        InvalidSecurityQualifier = "012",
        /// `013`: invalid security information (ISA04).
        InvalidSecurity = "013",
        /// `014`: invalid interchange date (ISA09).
        InvalidDate = "014",
        /// `015`: invalid interchange time (ISA10).
        InvalidTime = "015",
        /// `016`: invalid interchange standards identifier (ISA11).
        InvalidStandardsIdentifier = "016",
        /// `017`: invalid interchange version id (ISA12).
        InvalidVersion = "017",
        /// `018`: invalid interchange control number (ISA13).
        InvalidControlNumber = "018",
        /// `019`: invalid acknowledgment requested value (ISA14).
        InvalidAcknowledgmentRequested = "019",
        /// `020`: invalid test indicator (ISA15).
        InvalidTestIndicator = "020",
        /// `021`: IEA01 does not match the number of functional groups.
        GroupCount = "021",
        /// `022`: invalid control structure.
        InvalidControlStructure = "022",
        /// `023`: improper (premature) end of file: the interchange is truncated or a trailer is missing.
        PrematureEnd = "023",
        /// `024`: invalid interchange content (e.g. a segment outside any group, an invalid GS).
        InvalidContent = "024",
        /// `025`: duplicate interchange control number.
        DuplicateControlNumber = "025",
        /// `026`: invalid data element separator.
        InvalidElementSeparator = "026",
        /// `027`: invalid component element separator.
        InvalidComponentSeparator = "027",
        /// `028`: invalid delivery date in a deferred delivery request.
        InvalidDeliveryDate = "028",
        /// `029`: invalid delivery time in a deferred delivery request.
        InvalidDeliveryTime = "029",
        /// `030`: invalid delivery time code in a deferred delivery request.
        InvalidDeliveryTimeCode = "030",
        /// `031`: invalid grade of service code.
        InvalidGradeOfService = "031",
    }
}

impl SetStatus {
    /// The severity order of set verdicts: a merge keeps the worst.
    pub(crate) fn severity(self) -> u8 {
        match self {
            SetStatus::Accepted => 0,
            SetStatus::AcceptedWithErrors => 1,
            SetStatus::Rejected => 2,
        }
    }

    /// Whether the set counts as accepted in AK904 (`A` or `E`).
    pub fn is_accepted(self) -> bool {
        self != SetStatus::Rejected
    }
}
