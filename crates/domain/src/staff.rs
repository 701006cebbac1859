//! Staff of the platform: the departments they work for and the roles they hold.
//!
//! What a role may do is not decided here but by the capability types of the
//! application layer (`shengshi_app::staff::capability`); this module only names
//! the departments and roles. Their names are stable: they are stored and exported.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A text that names no department or no role.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: {value:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// The authority a staff member works for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    PublicSecurity,
    CivilAffairs,
    HumanResourcesSocialSecurity,
    HealthcareSecurity,
    TrafficPolice,
    ExitEntryAdministration,
    LabourArbitration,
    HousingProvidentFund,
    Tax,
    /// The people who run the platform itself (no casework).
    PlatformOperations,
}

impl Department {
    pub const ALL: [Department; 10] = [
        Self::PublicSecurity,
        Self::CivilAffairs,
        Self::HumanResourcesSocialSecurity,
        Self::HealthcareSecurity,
        Self::TrafficPolice,
        Self::ExitEntryAdministration,
        Self::LabourArbitration,
        Self::HousingProvidentFund,
        Self::Tax,
        Self::PlatformOperations,
    ];

    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::PublicSecurity => "public_security",
            Self::CivilAffairs => "civil_affairs",
            Self::HumanResourcesSocialSecurity => "human_resources_social_security",
            Self::HealthcareSecurity => "healthcare_security",
            Self::TrafficPolice => "traffic_police",
            Self::ExitEntryAdministration => "exit_entry_administration",
            Self::LabourArbitration => "labour_arbitration",
            Self::HousingProvidentFund => "housing_provident_fund",
            Self::Tax => "tax",
            Self::PlatformOperations => "platform_operations",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The message key under which translations name the department.
    pub fn display_key(self) -> String {
        format!("staff.department.{}", self.name())
    }

    /// The department's name in Chinese.
    pub fn display_zh(self) -> &'static str {
        match self {
            Self::PublicSecurity => "公安",
            Self::CivilAffairs => "民政",
            Self::HumanResourcesSocialSecurity => "人力资源和社会保障",
            Self::HealthcareSecurity => "医疗保障",
            Self::TrafficPolice => "交警",
            Self::ExitEntryAdministration => "出入境管理",
            Self::LabourArbitration => "劳动人事争议仲裁",
            Self::HousingProvidentFund => "住房公积金",
            Self::Tax => "税务",
            Self::PlatformOperations => "平台运维",
        }
    }

    /// The department's name in English.
    pub fn display_en(self) -> &'static str {
        match self {
            Self::PublicSecurity => "Public Security",
            Self::CivilAffairs => "Civil Affairs",
            Self::HumanResourcesSocialSecurity => "Human Resources and Social Security",
            Self::HealthcareSecurity => "Healthcare Security",
            Self::TrafficPolice => "Traffic Police",
            Self::ExitEntryAdministration => "Exit and Entry Administration",
            Self::LabourArbitration => "Labour Dispute Arbitration",
            Self::HousingProvidentFund => "Housing Provident Fund",
            Self::Tax => "Taxation",
            Self::PlatformOperations => "Platform Operations",
        }
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Department {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownName {
            what: "department",
            value: s.to_owned(),
        })
    }
}

/// What a staff member is employed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles cases.
    Clerk,
    /// Checks and decides cases a clerk prepared.
    Reviewer,
    /// Leads a department: a clerk's and a reviewer's work, and sees its staff.
    Supervisor,
    /// Reads, for oversight; changes nothing.
    Auditor,
    /// Manages staff accounts; no casework.
    Administrator,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Clerk,
        Self::Reviewer,
        Self::Supervisor,
        Self::Auditor,
        Self::Administrator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Clerk => "clerk",
            Self::Reviewer => "reviewer",
            Self::Supervisor => "supervisor",
            Self::Auditor => "auditor",
            Self::Administrator => "administrator",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn display_key(self) -> String {
        format!("staff.role.{}", self.name())
    }

    pub fn display_zh(self) -> &'static str {
        match self {
            Self::Clerk => "经办人",
            Self::Reviewer => "审核人",
            Self::Supervisor => "负责人",
            Self::Auditor => "审计员",
            Self::Administrator => "管理员",
        }
    }

    pub fn display_en(self) -> &'static str {
        match self {
            Self::Clerk => "Clerk",
            Self::Reviewer => "Reviewer",
            Self::Supervisor => "Supervisor",
            Self::Auditor => "Auditor",
            Self::Administrator => "Administrator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownName {
            what: "role",
            value: s.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for d in Department::ALL {
            assert_eq!(Department::from_name(d.name()), Some(d));
            assert_eq!(
                serde_json::to_string(&d).ok(),
                Some(format!("\"{}\"", d.name()))
            );
            assert!(!d.display_zh().is_empty() && !d.display_en().is_empty());
        }
        for r in Role::ALL {
            assert_eq!(r.name().parse::<Role>(), Ok(r));
            assert_eq!(
                serde_json::to_string(&r).ok(),
                Some(format!("\"{}\"", r.name()))
            );
        }
        assert!("police".parse::<Department>().is_err());
        assert_eq!(Department::Tax.display_key(), "staff.department.tax");
    }
}
